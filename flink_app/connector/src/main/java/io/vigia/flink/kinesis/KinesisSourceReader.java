package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.table.data.RowData;

import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One fetcher thread per reader polls all of the reader's shards; state = last sequence numbers,
 * plus a marker per shard this reader read to its end (see {@link ShardSplit}).
 */
final class KinesisSourceReader
        extends SingleThreadMultiplexSourceReaderBase<Record, RowData, ShardSplit, ShardSplitState> {

    /** Finished shards, kept in every checkpoint (a few bytes per resharded shard). */
    private final Map<String, ShardSplit> finishedShards = new LinkedHashMap<>();

    KinesisSourceReader(
            KinesisSourceConfig config, KinesisRecordEmitter emitter, SourceReaderContext context) {
        super(() -> new PollingShardSplitReader(config, config.createClient()), emitter,
                new Configuration(), context);
    }

    @Override
    public void addSplits(List<ShardSplit> splits) {
        List<ShardSplit> toRead = new ArrayList<>();
        for (ShardSplit split : splits) {
            if (split.finished) {
                finishedShards.put(split.shardId, split);
            } else {
                toRead.add(split);
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
    protected ShardSplitState initializedState(ShardSplit split) {
        return new ShardSplitState(split);
    }

    @Override
    protected ShardSplit toSplitType(String splitId, ShardSplitState state) {
        return state.toSplit();
    }
}
