package io.vigia.flink.kinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.utils.JoinedRowData;
import org.apache.flink.util.Collector;

import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.List;

/**
 * Decodes a record's data with the table's format, appends the requested metadata columns, and
 * emits the rows with the record's arrival time as timestamp; then remembers the record's sequence
 * number in the split state, so the next checkpoint continues after it.
 */
final class KinesisRecordEmitter implements RecordEmitter<Record, RowData, ShardSplitState> {
    private final DeserializationSchema<RowData> format;
    private final List<RowMetadata> metadata;
    private final RowCollector collector = new RowCollector();

    KinesisRecordEmitter(DeserializationSchema<RowData> format, List<RowMetadata> metadata) {
        this.format = format;
        this.metadata = metadata;
    }

    @Override
    public void emitRecord(Record record, SourceOutput<RowData> output, ShardSplitState state)
            throws Exception {
        collector.output = output;
        collector.timestamp = record.approximateArrivalTimestamp() == null
                ? Long.MIN_VALUE : record.approximateArrivalTimestamp().toEpochMilli();
        collector.metadata = null;
        if (!metadata.isEmpty()) {
            GenericRowData values = new GenericRowData(metadata.size());
            for (int i = 0; i < metadata.size(); i++) {
                values.setField(i, metadata.get(i).valueOf(record, state.shardId()));
            }
            collector.metadata = values;
        }
        SplitWatermarks.EMITTING.set(state);  // the split's watermark generator runs in collect()
        format.deserialize(record.data().asByteArrayUnsafe(), collector);
        state.emitted(record.sequenceNumber());
    }

    /** Adapts the format's Collector to the SourceOutput of the current record. */
    private static final class RowCollector implements Collector<RowData> {
        SourceOutput<RowData> output;
        long timestamp;
        RowData metadata;

        @Override
        public void collect(RowData row) {
            RowData out = metadata == null ? row : new JoinedRowData(row.getRowKind(), row, metadata);
            if (timestamp == Long.MIN_VALUE) {
                output.collect(out);
            } else {
                output.collect(out, timestamp);
            }
        }

        @Override
        public void close() {}
    }
}
