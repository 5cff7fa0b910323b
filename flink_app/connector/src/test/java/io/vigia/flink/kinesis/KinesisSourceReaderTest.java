package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.UserCodeClassLoader;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Finished-shard markers: kept in every snapshot, re-announced to the enumerator on restore. */
class KinesisSourceReaderTest {
    private final List<SourceEvent> sent = new ArrayList<>();

    private final SourceReaderContext context = new SourceReaderContext() {
        @Override
        public SourceReaderMetricGroup metricGroup() {
            return UnregisteredMetricsGroup.createSourceReaderMetricGroup();
        }

        @Override
        public Configuration getConfiguration() {
            return new Configuration();
        }

        @Override
        public String getLocalHostName() {
            return "localhost";
        }

        @Override
        public int getIndexOfSubtask() {
            return 0;
        }

        @Override
        public void sendSplitRequest() {}

        @Override
        public void sendSourceEventToCoordinator(SourceEvent event) {
            sent.add(event);
        }

        @Override
        public UserCodeClassLoader getUserCodeClassLoader() {
            return null;
        }
    };

    private final KinesisSourceReader reader =
            new KinesisSourceReader(Fakes.config(Map.of()), new KinesisRecordEmitter(null, List.of()), context);

    private static Set<String> finishedIn(List<SourceEvent> events) {
        return ((ShardsFinishedEvent) events.get(events.size() - 1)).shardIds;
    }

    @Test
    void aShardReadToItsEndStaysInTheStateAsAMarker() throws Exception {
        reader.onSplitFinished(Map.of("s1", new ShardSplitState(ShardSplit.afterSequenceNumber("s1", "9"))));
        assertEquals(Set.of("s1"), finishedIn(sent));
        assertEquals(List.of(ShardSplit.afterSequenceNumber("s1", "9").asFinished()), reader.snapshotState(1));
        assertEquals(1, reader.snapshotState(2).size(), "kept in later checkpoints too");
        reader.close();
    }

    @Test
    void restoredMarkersAreAnnouncedAgainAndNotRead() throws Exception {
        ShardSplit marker = new ShardSplit("s0", ShardIteratorType.TRIM_HORIZON, null).asFinished();
        reader.addSplits(List.of(marker));
        assertEquals(Set.of("s0"), finishedIn(sent));
        assertEquals(0, reader.getNumberOfCurrentlyAssignedSplits());
        assertEquals(List.of(marker), reader.snapshotState(1));
        reader.close();
    }
}
