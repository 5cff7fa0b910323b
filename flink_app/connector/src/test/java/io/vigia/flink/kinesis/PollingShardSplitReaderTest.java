package io.vigia.flink.kinesis;

import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;

import org.junit.jupiter.api.Test;
import org.apache.flink.metrics.Gauge;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.kinesis.model.ExpiredIteratorException;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorResponse;
import software.amazon.awssdk.services.kinesis.model.KinesisException;
import software.amazon.awssdk.services.kinesis.model.KmsThrottlingException;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PollingShardSplitReaderTest {

    /** A Kinesis that answers GetRecords from a script and records the iterator requests. */
    static final class ScriptedKinesis extends Fakes.ListingKinesis {
        final List<GetShardIteratorRequest> iteratorRequests = new ArrayList<>();
        final Deque<Supplier<GetRecordsResponse>> script = new ArrayDeque<>();
        final List<Long> getRecordsAt = new ArrayList<>();

        @Override
        public GetShardIteratorResponse getShardIterator(GetShardIteratorRequest r) {
            iteratorRequests.add(r);
            return GetShardIteratorResponse.builder().shardIterator("it" + iteratorRequests.size()).build();
        }

        @Override
        public GetRecordsResponse getRecords(GetRecordsRequest r) {
            getRecordsAt.add(System.currentTimeMillis());
            return script.isEmpty() ? page(List.of(), "more") : script.poll().get();
        }
    }

    static Record record(String seq) {
        return Record.builder().sequenceNumber(seq).partitionKey("k").data(SdkBytes.fromUtf8String(seq)).build();
    }

    static GetRecordsResponse page(List<Record> records, String next) {
        return GetRecordsResponse.builder().records(records).nextShardIterator(next).build();
    }

    private final ScriptedKinesis kinesis = new ScriptedKinesis();
    private final Fakes.Metrics metrics = new Fakes.Metrics();
    /** Short intervals (the same rules as the defaults) so the tests take well under a second each. */
    private PollingShardSplitReader reader = new PollingShardSplitReader(Fakes.config(Map.of(
            "source.reader.empty-records-fetch-interval", "200 ms",
            "source.reader.empty-records-fetch-interval.max", "800 ms",
            "source.reader.nonempty-records-fetch-interval", "200 ms",
            "source.reader.retry-strategy.delay.min", "200 ms",
            "source.reader.retry-strategy.delay.max", "800 ms")), kinesis, metrics);

    private void read(ShardSplit split) {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));
    }

    private static List<Long> gaps(List<Long> at) {
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < at.size(); i++) {
            gaps.add(at.get(i) - at.get(i - 1));
        }
        return gaps;
    }

    private List<String> drain(RecordsWithSplitIds<Record> batch) {
        List<String> seqs = new ArrayList<>();
        while (batch.nextSplit() != null) {
            for (Record r; (r = batch.nextRecordFromSplit()) != null; ) {
                seqs.add(r.sequenceNumber());
            }
        }
        return seqs;
    }

    private RecordsWithSplitIds<Record> fetchUntilCall(int calls) {
        RecordsWithSplitIds<Record> batch;
        do {
            batch = reader.fetch();
        } while (kinesis.getRecordsAt.size() < calls);
        return batch;
    }

    @Test
    void aClosedShardIsReadToItsEndAndThenFinished() {
        kinesis.script.add(() -> page(List.of(record("1"), record("2")), "more"));
        kinesis.script.add(() -> page(List.of(record("3")), null));
        read(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null));
        assertEquals(List.of("1", "2"), drain(fetchUntilCall(1)));
        RecordsWithSplitIds<Record> last = fetchUntilCall(2);
        assertEquals(List.of("3"), drain(last));
        assertEquals(java.util.Set.of("s0"), last.finishedSplits());
        assertEquals(1, kinesis.iteratorRequests.size());
    }

    @Test
    void anExpiredIteratorIsRenewedAfterTheLastFetchedRecord() {
        kinesis.script.add(() -> page(List.of(record("7")), "more"));
        kinesis.script.add(() -> {
            throw ExpiredIteratorException.builder().message("expired").build();
        });
        kinesis.script.add(() -> page(List.of(record("8")), "more"));
        read(new ShardSplit("s0", ShardIteratorType.LATEST, null));
        assertEquals(List.of("7"), drain(fetchUntilCall(1)));
        fetchUntilCall(2);
        assertEquals(List.of("8"), drain(fetchUntilCall(3)));
        GetShardIteratorRequest renewed = kinesis.iteratorRequests.get(1);
        assertEquals(ShardIteratorType.AFTER_SEQUENCE_NUMBER, renewed.shardIteratorType());
        assertEquals("7", renewed.startingSequenceNumber());
    }

    /** Each GetRecords gap is at least `wantMs` (timer slack allowed upwards only). */
    private static void assertGapsAtLeast(List<Long> gaps, long... wantMs) {
        for (int i = 0; i < wantMs.length; i++) {
            assertTrue(gaps.get(i) >= wantMs[i], "gap " + i + " of " + gaps + " < " + wantMs[i]);
            assertTrue(gaps.get(i) < wantMs[i] + 150, "gap " + i + " of " + gaps + " much longer than " + wantMs[i]);
        }
    }

    @Test
    void transientErrorsAreRetriedWithADoublingWaitAndNothingIsLost() {
        List<Supplier<GetRecordsResponse>> errors = List.of(
                () -> { throw ProvisionedThroughputExceededException.builder().message("slow down").build(); },
                () -> { throw SdkClientException.create("connection reset", new java.net.SocketException("reset")); },
                () -> { throw KinesisException.builder().statusCode(500).awsErrorDetails(
                        AwsErrorDetails.builder().errorCode("InternalFailure").build()).build(); },
                () -> { throw KmsThrottlingException.builder().statusCode(400).message("KMS rate").build(); },
                () -> { throw KinesisException.builder().statusCode(503).message("Service Unavailable").build(); });
        kinesis.script.addAll(errors);
        kinesis.script.add(() -> page(List.of(record("1")), "more"));
        read(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null));
        List<String> got = new ArrayList<>();
        while (kinesis.getRecordsAt.size() < 6) {
            got.addAll(drain(reader.fetch()));
        }
        assertEquals(List.of("1"), got);
        // 200, 400, 800, 800 (max), 800 ms after the five failed calls
        assertGapsAtLeast(gaps(kinesis.getRecordsAt), 200, 400, 800, 800, 800);
        assertEquals(1, kinesis.iteratorRequests.size(), "the iterator is kept across retries");
    }

    @Test
    void otherErrorsFailTheFetch() {
        kinesis.script.add(() -> { throw KinesisException.builder().statusCode(400).awsErrorDetails(
                AwsErrorDetails.builder().errorCode("AccessDeniedException").build()).build(); });
        read(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null));
        assertThrows(KinesisException.class, () -> fetchUntilCall(1));
    }

    @Test
    void anIdleShardIsPolledLessAndLessOftenAndAtTheNonEmptyIntervalOnceRecordsCome() {
        for (int i = 0; i < 4; i++) {
            kinesis.script.add(() -> page(List.of(), "more"));
        }
        kinesis.script.add(() -> page(List.of(record("1")), "more"));
        kinesis.script.add(() -> page(List.of(record("2")), "more"));
        kinesis.script.add(() -> page(List.of(), "more"));
        read(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null));
        fetchUntilCall(8);
        // empty: 200, 400, 800, 800 (max); records: 200, 200; empty again: from 200
        assertGapsAtLeast(gaps(kinesis.getRecordsAt), 200, 400, 800, 800, 200, 200, 200);
    }

    @Test
    void byDefaultAShardIsPolledAtMostOncePerSecond() {
        KinesisSourceConfig defaults = Fakes.config(Map.of());
        assertEquals(1000, defaults.nonEmptyPollIntervalMs);
        assertEquals(1000, defaults.emptyPollIntervalMs);
        reader = new PollingShardSplitReader(defaults, kinesis, metrics);
        kinesis.script.add(() -> page(List.of(record("1")), "more"));
        read(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null));
        fetchUntilCall(2);
        assertTrue(gaps(kinesis.getRecordsAt).get(0) >= 1000, "gaps " + gaps(kinesis.getRecordsAt));
    }

    @Test
    void millisBehindLatestIsAGaugePerShardInTheOfficialConnectorsScope() {
        kinesis.script.add(() -> page(List.of(record("1")), "more").toBuilder().millisBehindLatest(4200L).build());
        read(new ShardSplit("shardId-000000000001", ShardIteratorType.TRIM_HORIZON, null));
        Gauge<?> gauge = metrics.gauges.get("KinesisStreamSource.accountId.123456789012.region.eu-west-1"
                + ".stream.s.shardId.shardId-000000000001.millisBehindLatest");
        assertEquals(-1L, gauge.getValue(), "no answer yet");
        fetchUntilCall(1);
        assertEquals(4200L, gauge.getValue());
    }
}
