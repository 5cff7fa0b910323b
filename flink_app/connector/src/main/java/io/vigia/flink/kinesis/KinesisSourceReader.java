package io.vigia.flink.kinesis;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.table.data.RowData;

import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One fetcher thread per reader polls all of the reader's shards; state = last sequence numbers
 * and watermarks, plus a marker per shard this reader read to its end (see {@link ShardSplit}).
 * Every added shard's output is registered before any record is emitted: Flink's reader base
 * registers a shard when its first records come, and until then the reader's watermark (the minimum
 * over registered shards) follows the shards read first; a shard whose first GetRecords comes a
 * moment later would find its events late (the demo lost ~20 % of its events to late this way).
 * Restored watermarks are emitted on the shards' outputs before any record too: Flink does not
 * checkpoint watermarks, and without this an event that was late before a restore (and is read
 * again after it) would be on time against a watermark that starts from nothing.
 */
final class KinesisSourceReader
        extends SingleThreadMultiplexSourceReaderBase<Record, RowData, ShardSplit, ShardSplitState> {

    /** Finished shards, kept in every checkpoint (a few bytes per resharded shard). */
    private final Map<String, ShardSplit> finishedShards = new LinkedHashMap<>();
    /** Added splits whose output is still to be registered (and checkpointed watermark emitted). */
    private final List<ShardSplit> toRegister = new ArrayList<>();

    KinesisSourceReader(
            KinesisSourceConfig config, KinesisRecordEmitter emitter, SourceReaderContext context) {
        super(() -> new PollingShardSplitReader(config, config.createClient(), context.metricGroup()),
                emitter, new Configuration(), context);
    }

    @Override
    public InputStatus pollNext(ReaderOutput<RowData> output) throws Exception {
        if (!toRegister.isEmpty()) {
            registerShards(output);
        }
        return super.pollNext(output);
    }

    /**
     * Registers every added shard's output first, then emits the restored watermarks: the reader's
     * watermark is the minimum over its registered shards and never goes back, so emitting one
     * shard's watermark before another shard is registered could run ahead of that shard.
     */
    private void registerShards(ReaderOutput<RowData> output) {
        List<SourceOutput<RowData>> outputs = new ArrayList<>();
        for (ShardSplit split : toRegister) {
            outputs.add(output.createOutputForSplit(split.shardId));
        }
        for (int i = 0; i < outputs.size(); i++) {
            ShardSplit split = toRegister.get(i);
            if (split.hasWatermark()) {
                outputs.get(i).emitWatermark(new Watermark(split.watermark));
                if (split.idle) {
                    outputs.get(i).markIdle();
                }
            }
        }
        toRegister.clear();
    }

    @Override
    public void addSplits(List<ShardSplit> splits) {
        List<ShardSplit> toRead = new ArrayList<>();
        for (ShardSplit split : splits) {
            if (split.finished) {
                finishedShards.put(split.shardId, split);
            } else {
                toRead.add(split);
                toRegister.add(split);
            }
        }
        if (toRead.size() < splits.size()) {
            // restored markers: tell the enumerator again (it ignores what it already knows)
            context.sendSourceEventToCoordinator(new ShardsFinishedEvent(finishedShards.keySet()));
        }
        if (!toRead.isEmpty()) {
            super.addSplits(toRead);
        }
    }

    @Override
    public List<ShardSplit> snapshotState(long checkpointId) {
        List<ShardSplit> state = new ArrayList<>(super.snapshotState(checkpointId));
        state.addAll(finishedShards.values());
        return state;
    }

    @Override
    protected void onSplitFinished(Map<String, ShardSplitState> finished) {
        finished.forEach((id, state) -> finishedShards.put(id, state.toSplit().asFinished()));
        // The enumerator may now assign the children of these (closed) shards.
        context.sendSourceEventToCoordinator(new ShardsFinishedEvent(Set.copyOf(finished.keySet())));
    }

    @Override
    public void close() throws Exception {
        SplitWatermarks.EMITTING.remove();
        super.close();
    }

    @Override
    protected ShardSplitState initializedState(ShardSplit split) {
        return new ShardSplitState(split);
    }

    @Override
    protected ShardSplit toSplitType(String splitId, ShardSplitState state) {
        return state.toSplit();
    }
}
