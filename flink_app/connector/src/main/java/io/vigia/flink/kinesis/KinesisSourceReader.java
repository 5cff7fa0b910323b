package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.table.data.RowData;

import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.Map;

/** One fetcher thread per reader polls all of the reader's shards; state = last sequence numbers. */
final class KinesisSourceReader
        extends SingleThreadMultiplexSourceReaderBase<Record, RowData, ShardSplit, ShardSplitState> {

    KinesisSourceReader(
            KinesisSourceConfig config, KinesisRecordEmitter emitter, SourceReaderContext context) {
        super(() -> new PollingShardSplitReader(config), emitter, new Configuration(), context);
    }

    @Override
    protected void onSplitFinished(Map<String, ShardSplitState> finished) {
        // The enumerator may now assign the children of these (closed) shards.
        context.sendSourceEventToCoordinator(new ShardsFinishedEvent(finished.keySet()));
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
