package io.vigia.flink.kinesis;

import org.apache.flink.table.api.ValidationException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KinesisSourceConfigTest {

    @Test
    void defaultsFollowTheOfficialConnectorAndTheRegionComesFromTheArn() {
        KinesisSourceConfig c = Fakes.config(Map.of());
        assertEquals("eu-west-1", c.region);
        assertEquals(KinesisConnectorOptions.InitialPosition.LATEST, c.initPosition);
        assertEquals(10_000, c.discoveryIntervalMs);
        assertEquals(10_000, c.maxRecordsPerCall);
        assertEquals("AUTO", c.credentialsProvider);
        // ours: at most one GetRecords per second per shard (room for Firehose and others)
        assertEquals(1000, c.emptyPollIntervalMs);
        assertEquals(3000, c.maxEmptyPollIntervalMs);
        assertEquals(1000, c.nonEmptyPollIntervalMs);
        assertEquals(1000, c.retryDelayMinMs);
        assertEquals(30_000, c.retryDelayMaxMs);
    }

    @Test
    void intervalsNeverGoBelowTheFiveCallsPerSecondFloorNorAMaximumBelowItsMinimum() {
        KinesisSourceConfig c = Fakes.config(Map.of("source.reader.nonempty-records-fetch-interval", "0 ms",
                "source.reader.empty-records-fetch-interval", "5 s",
                "source.reader.retry-strategy.delay.min", "10 ms"));
        assertEquals(200, c.nonEmptyPollIntervalMs);
        assertEquals(5000, c.maxEmptyPollIntervalMs);
        assertEquals(200, c.retryDelayMinMs);
    }

    @Test
    void atTimestampAcceptsTheDefaultDateFormatOrEpochSeconds() {
        assertEquals(1732615200123L, Fakes.config(Map.of("source.init.position", "AT_TIMESTAMP",
                "source.init.timestamp", "2024-11-26T10:00:00.123Z")).initTimestampMillis);
        assertEquals(1732615200500L, Fakes.config(Map.of("source.init.position", "AT_TIMESTAMP",
                "source.init.timestamp", "1732615200.5")).initTimestampMillis);
    }

    @Test
    void badValuesNameTheOption() {
        assertMessageNames("source.init.timestamp", Map.of("source.init.position", "AT_TIMESTAMP",
                "source.init.timestamp", "yesterday"));
        assertMessageNames("aws.credentials.provider.basic.secretkey", Map.of(
                "aws.credentials.provider", "BASIC", "aws.credentials.provider.basic.accesskeyid", "a"));
        assertMessageNames("source.shard.discovery.interval", Map.of("source.shard.discovery.interval", "0 s"));
        assertMessageNames("aws.endpoint", Map.of("aws.endpoint", "localhost"));
        ValidationException arn = assertThrows(ValidationException.class, () -> KinesisSourceConfig.from(
                org.apache.flink.configuration.Configuration.fromMap(Map.of("stream.arn", "my-stream"))));
        assertTrue(arn.getMessage().contains("'stream.arn'"), arn.getMessage());
    }

    private static void assertMessageNames(String option, Map<String, String> options) {
        ValidationException e = assertThrows(ValidationException.class, () -> Fakes.config(options));
        assertTrue(e.getMessage().contains("'" + option + "'"), e.getMessage());
    }
}
