package io.vigia.flink.kinesis;

import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.ExpiredIteratorException;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorResponse;
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
    private final PollingShardSplitReader reader = new PollingShardSplitReader(Fakes.config(Map.of()), kinesis);

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
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null))));
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
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(new ShardSplit("s0", ShardIteratorType.LATEST, null))));
        assertEquals(List.of("7"), drain(fetchUntilCall(1)));
        fetchUntilCall(2);
        assertEquals(List.of("8"), drain(fetchUntilCall(3)));
        GetShardIteratorRequest renewed = kinesis.iteratorRequests.get(1);
        assertEquals(ShardIteratorType.AFTER_SEQUENCE_NUMBER, renewed.shardIteratorType());
        assertEquals("7", renewed.startingSequenceNumber());
    }

    @Test
    void throttlingBacksOffAndPollsNeverComeFasterThan200Ms() {
        for (int i = 0; i < 3; i++) {
            kinesis.script.add(() -> {
                throw ProvisionedThroughputExceededException.builder().message("slow down").build();
            });
        }
        kinesis.script.add(() -> page(List.of(record("1")), "more"));
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null))));
        fetchUntilCall(6);
        List<Long> at = kinesis.getRecordsAt;
        for (int i = 1; i < at.size(); i++) {
            assertTrue(at.get(i) - at.get(i - 1) >= KinesisSourceConfig.MIN_POLL_INTERVAL_MS, "gaps " + at);
        }
        // backoff doubles: 200, 400, 800 ms after the three throttled calls
        assertTrue(at.get(3) - at.get(2) >= 800, "gaps " + at);
    }
}
