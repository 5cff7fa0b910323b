package io.vigia.flink.kinesis;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static io.vigia.flink.kinesis.Fakes.shard;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardEnumeratorTest {
    private final Fakes.Context context = new Fakes.Context();
    private final Fakes.ListingKinesis kinesis = new Fakes.ListingKinesis();
    /** The enumerator's clock: the job's start time. */
    private static final long STARTED = 1_764_000_000_123L;

    private ShardEnumerator start(Map<String, String> options, EnumeratorState state) {
        ShardEnumerator e = new ShardEnumerator(Fakes.config(options), context, state, kinesis, () -> STARTED);
        e.start();
        return e;
    }

    private static EnumeratorState roundTrip(EnumeratorState state) throws Exception {
        byte[] bytes = EnumeratorState.SERIALIZER.serialize(state);
        return EnumeratorState.SERIALIZER.deserialize(EnumeratorState.SERIALIZER.getVersion(), bytes);
    }

    private static Set<String> ids(List<ShardSplit> splits) {
        return splits.stream().map(s -> s.shardId).collect(Collectors.toSet());
    }

    @Test
    void shardsAtStartUseTheInitPositionLaterOnesTrimHorizonAndNoneTwice() {
        // LATEST = AT_TIMESTAMP of the job's start: records put while readers start are not skipped
        context.register(0);
        context.register(1);
        kinesis.shards = List.of(shard("s0"), shard("s1"));
        kinesis.pageSize = 1; // every page is read
        ShardEnumerator e = start(Map.of("source.init.position", "LATEST"), EnumeratorState.EMPTY);
        context.discover();
        assertEquals(Set.of("s0", "s1"), ids(context.allAssigned()));
        assertTrue(context.allAssigned().stream().allMatch(s -> s.startType == ShardIteratorType.AT_TIMESTAMP
                && s.startMarker.equals(String.valueOf(STARTED))), context.allAssigned().toString());
        assertEquals(1, context.assigned.get(0).size(), "one shard per reader");

        kinesis.shards = List.of(shard("s0"), shard("s1"), shard("s2"));
        context.discover(); // moto ignores ShardFilter: the old shards come back every time
        context.discover();
        assertEquals(3, context.allAssigned().size());
        ShardSplit late = context.allAssigned().stream().filter(s -> s.shardId.equals("s2")).findFirst().get();
        assertEquals(ShardIteratorType.TRIM_HORIZON, late.startType);
        e.close();
    }

    @Test
    void childrenWaitUntilAllTheirParentsAreRead() {
        context.register(0);
        // s2 = merge of s0 and s1; s0 and s1 closed; s3 has a parent that expired (unknown)
        kinesis.shards = List.of(shard("s0"), shard("s1"), shard("s2", "s0", "s1"), shard("s3", "gone"));
        ShardEnumerator e = start(Map.of("source.init.position", "TRIM_HORIZON"), EnumeratorState.EMPTY);
        context.discover();
        assertEquals(Set.of("s0", "s1", "s3"), ids(context.allAssigned()));

        e.handleSourceEvent(0, new ShardsFinishedEvent(Set.of("s0")));
        assertEquals(3, context.allAssigned().size(), "s2 still waits for s1");
        e.handleSourceEvent(0, new ShardsFinishedEvent(Set.of("s1")));
        assertEquals(Set.of("s0", "s1", "s2", "s3"), ids(context.allAssigned()));
    }

    @Test
    void splitsWaitForAReaderAndComeBackFromAFailedOne() {
        kinesis.shards = List.of(shard("s0"));
        ShardEnumerator e = start(Map.of("source.init.position", "TRIM_HORIZON"), EnumeratorState.EMPTY);
        context.discover();
        assertTrue(context.allAssigned().isEmpty(), "no reader yet");
        context.register(0);
        e.addReader(0);
        assertEquals(List.of(new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null)), context.allAssigned());

        ShardSplit checkpointed = ShardSplit.afterSequenceNumber("s0", "42");
        context.assigned.clear();
        e.addSplitsBack(List.of(checkpointed), 0);
        e.addReader(0);
        assertEquals(List.of(checkpointed), context.allAssigned());
    }

    @Test
    void nothingIsAssignedBeforeEveryReaderRegisteredThenShardsAreSpread() {
        context.parallelism = 2;
        context.register(0);
        kinesis.shards = List.of(shard("s0"), shard("s1"));
        ShardEnumerator e = start(Map.of(), EnumeratorState.EMPTY);
        context.discover();
        e.addReader(0);
        assertTrue(context.allAssigned().isEmpty(), "reader 1 has not registered yet");
        context.register(1);
        e.addReader(1);
        assertEquals(1, context.assigned.get(0).size());
        assertEquals(1, context.assigned.get(1).size());
    }

    @Test
    void stateSurvivesSerializationAndRestoreDiscoversOnlyNewShards() throws Exception {
        kinesis.shards = List.of(shard("s0"), shard("s1", "s0"));
        ShardEnumerator e = start(Map.of("source.init.position", "AT_TIMESTAMP",
                "source.init.timestamp", "1700000000.5"), EnumeratorState.EMPTY);
        context.register(0);
        context.discover();
        assertEquals(List.of(new ShardSplit("s0", ShardIteratorType.AT_TIMESTAMP, "1700000000500")),
                context.allAssigned());
        e.handleSourceEvent(0, new ShardsFinishedEvent(Set.of("s0")));
        kinesis.shards = List.of(shard("s0"), shard("s1", "s0"), shard("s2"));
        context.assigned.clear();

        EnumeratorState snapshot = e.snapshotState(1);
        EnumeratorState restored = roundTrip(snapshot);
        assertEquals(snapshot.knownShardParents, restored.knownShardParents);
        assertEquals(snapshot.finishedShards, restored.finishedShards);
        assertEquals(snapshot.unassigned, restored.unassigned);
        assertTrue(restored.initialDiscoveryDone);

        Fakes.Context fresh = new Fakes.Context();
        fresh.register(0);
        ShardEnumerator again = new ShardEnumerator(Fakes.config(Map.of()), fresh, restored, kinesis, () -> STARTED);
        again.start();
        fresh.discover();
        // s0 and s1 were known (s1 assigned before the snapshot): only s2 is new, from TRIM_HORIZON
        assertEquals(List.of(new ShardSplit("s2", ShardIteratorType.TRIM_HORIZON, null)), fresh.allAssigned());
    }

    @Test
    void latestIsResolvedOnceAndARestoreKeepsTheStartTime() throws Exception {
        kinesis.shards = List.of(shard("s0"));
        ShardEnumerator first = start(Map.of(), EnumeratorState.EMPTY);
        // checkpointed before the first listing answered (no reader yet either)
        EnumeratorState early = roundTrip(first.snapshotState(1));
        assertEquals(STARTED, early.startTimeMillis);

        Fakes.Context later = new Fakes.Context();
        later.register(0);
        ShardEnumerator restored = new ShardEnumerator(Fakes.config(Map.of()), later, early, kinesis,
                () -> STARTED + 60_000);
        restored.start();
        later.discover();
        assertEquals(List.of(new ShardSplit("s0", ShardIteratorType.AT_TIMESTAMP, String.valueOf(STARTED))),
                later.allAssigned(), "the restart minute is not skipped");
    }

    @Test
    void splitsKeepTheirWatermarkThroughTheCheckpointAndVersion1StatesStillLoad() throws Exception {
        ShardSplit split = ShardSplit.afterSequenceNumber("s0", "42").withWatermark(1_764_000_000_000L, true);
        ShardSplitSerializer serializer = ShardSplitSerializer.INSTANCE;
        assertEquals(split, serializer.deserialize(serializer.getVersion(), serializer.serialize(split)));

        org.apache.flink.core.memory.DataOutputSerializer v1 = new org.apache.flink.core.memory.DataOutputSerializer(64);
        v1.writeUTF("s0");
        v1.writeUTF("AFTER_SEQUENCE_NUMBER");
        v1.writeBoolean(true);
        v1.writeUTF("42");
        v1.writeBoolean(false);
        ShardSplit old = serializer.deserialize(1, v1.getCopyOfBuffer());
        assertEquals(ShardSplit.afterSequenceNumber("s0", "42"), old);
        assertTrue(!old.hasWatermark());
    }

    @Test
    void aTransientErrorOnTheFirstListingIsRetriedAtTheNextDiscovery() {
        kinesis.failures.add(software.amazon.awssdk.services.kinesis.model.KinesisException.builder()
                .statusCode(503).message("Service Unavailable").build());
        kinesis.shards = List.of(shard("s0"));
        context.register(0);
        start(Map.of(), EnumeratorState.EMPTY);
        context.discover();
        assertTrue(context.allAssigned().isEmpty());
        context.discover();
        assertEquals(List.of(new ShardSplit("s0", ShardIteratorType.AT_TIMESTAMP, String.valueOf(STARTED))),
                context.allAssigned());
    }

    @Test
    void theFirstListingFailingFailsTheJob() {
        kinesis.failures.add(new IllegalStateException("no such stream"));
        start(Map.of(), EnumeratorState.EMPTY);
        RuntimeException error = assertThrows(RuntimeException.class, context::discover);
        assertTrue(error.getMessage().contains(Fakes.ARN), error.getMessage());
    }
}
