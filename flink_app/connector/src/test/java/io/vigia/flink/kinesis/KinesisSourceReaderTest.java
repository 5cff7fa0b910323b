package io.vigia.flink.kinesis;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.data.RowData;
import org.apache.flink.util.UserCodeClassLoader;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Finished-shard markers: kept in every snapshot, re-announced to the enumerator on restore.
 * Watermarks: each shard's goes into the snapshot, and restored ones are emitted before any record.
 */
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

    /** Records what the reader does with its outputs, in order: "create s0", "s0 watermark 5", ... */
    private static final class Outputs implements ReaderOutput<RowData> {
        final List<String> log = new ArrayList<>();

        @Override
        public void collect(RowData record) {
            log.add("record");
        }

        @Override
        public void collect(RowData record, long timestamp) {
            log.add("record");
        }

        @Override
        public void emitWatermark(Watermark watermark) {
            log.add("reader watermark " + watermark.getTimestamp());
        }

        @Override
        public void markIdle() {
            log.add("reader idle");
        }

        @Override
        public void markActive() {}

        @Override
        public SourceOutput<RowData> createOutputForSplit(String splitId) {
            log.add("create " + splitId);
            return new SourceOutput<>() {
                @Override
                public void collect(RowData record) {
                    log.add(splitId + " record");
                }

                @Override
                public void collect(RowData record, long timestamp) {
                    log.add(splitId + " record");
                }

                @Override
                public void emitWatermark(Watermark watermark) {
                    log.add(splitId + " watermark " + watermark.getTimestamp());
                }

                @Override
                public void markIdle() {
                    log.add(splitId + " idle");
                }

                @Override
                public void markActive() {}
            };
        }

        @Override
        public void releaseOutputForSplit(String splitId) {}
    }

    @Test
    void restoredWatermarksAreEmittedOnTheShardsOutputsBeforeAnythingElseAndKeptInTheNextSnapshot()
            throws Exception {
        // an endpoint that refuses connections: the fetcher retries (I/O is transient) and reads nothing
        KinesisSourceReader restored = new KinesisSourceReader(Fakes.config(Map.of(
                "aws.endpoint", "http://127.0.0.1:9", "aws.credentials.provider", "BASIC",
                "aws.credentials.provider.basic.accesskeyid", "a", "aws.credentials.provider.basic.secretkey", "b")),
                new KinesisRecordEmitter(null, List.of()), context);
        ShardSplit s0 = ShardSplit.afterSequenceNumber("s0", "7").withWatermark(5_000, false);
        ShardSplit s1 = ShardSplit.afterSequenceNumber("s1", "9").withWatermark(3_000, true);
        ShardSplit s2 = ShardSplit.afterSequenceNumber("s2", "1"); // never had a watermark
        restored.addSplits(List.of(s0, s1, s2));
        Outputs out = new Outputs();
        restored.pollNext(out);
        restored.pollNext(out);
        // every shard is registered before the first watermark or record: the reader's watermark,
        // the minimum over its shards, must not run ahead of s1 or s2 while they are not registered
        // yet (s2 has no watermark: a fresh shard holds the reader's watermark until it reads or idles)
        assertEquals(List.of("create s0", "create s1", "create s2", "s0 watermark 5000", "s1 watermark 3000",
                "s1 idle"), out.log);
        assertEquals(Set.of(s0, s1, s2), Set.copyOf(restored.snapshotState(1)), "kept until new ones come");
        restored.close();
    }

    @Test
    void theWatermarkAShardsGeneratorEmitsIsWhatItsSplitStateCheckpoints() {
        List<Long> emitted = new ArrayList<>();
        WatermarkOutput downstream = new WatermarkOutput() {
            @Override
            public void emitWatermark(Watermark watermark) {
                emitted.add(watermark.getTimestamp());
            }

            @Override
            public void markIdle() {}

            @Override
            public void markActive() {}
        };
        // a generator like the table's: on each event remember the max, emit on the periodic call
        WatermarkStrategy<RowData> table = WatermarkStrategy.forGenerator(ctx -> new WatermarkGenerator<>() {
            long max = Long.MIN_VALUE;

            @Override
            public void onEvent(RowData event, long timestamp, WatermarkOutput output) {
                max = Math.max(max, timestamp - 1000);
            }

            @Override
            public void onPeriodicEmit(WatermarkOutput output) {
                output.emitWatermark(new Watermark(max));
            }
        });
        WatermarkGenerator<RowData> generator = new SplitWatermarks(table).createWatermarkGenerator(null);
        ShardSplitState state = new ShardSplitState(ShardSplit.afterSequenceNumber("s0", "1").withWatermark(9_500, false));
        SplitWatermarks.EMITTING.set(state);
        generator.onEvent(null, 10_000, downstream);
        SplitWatermarks.EMITTING.set(null); // another split's record: the generator keeps its own
        generator.onPeriodicEmit(downstream);
        assertEquals(List.of(9_000L), emitted);
        assertEquals(9_500, state.toSplit().watermark, "never below the restored watermark");
        generator.onEvent(null, 12_000, downstream);
        generator.onPeriodicEmit(downstream);
        assertEquals(11_000, state.toSplit().watermark);
        SplitWatermarks.EMITTING.remove();
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
