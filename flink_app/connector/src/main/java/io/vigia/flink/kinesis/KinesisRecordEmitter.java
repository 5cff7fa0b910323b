package io.vigia.flink.kinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.table.data.RowData;
import org.apache.flink.util.Collector;

import software.amazon.awssdk.services.kinesis.model.Record;

/**
 * Decodes a record's data with the table's format and emits the rows with the record's arrival
 * time as timestamp; then remembers the record's sequence number in the split state, so the next
 * checkpoint continues after it.
 */
final class KinesisRecordEmitter implements RecordEmitter<Record, RowData, ShardSplitState> {
    private final DeserializationSchema<RowData> format;
    private final RowCollector collector = new RowCollector();

    KinesisRecordEmitter(DeserializationSchema<RowData> format) {
        this.format = format;
    }

    @Override
    public void emitRecord(Record record, SourceOutput<RowData> output, ShardSplitState state)
            throws Exception {
        collector.output = output;
        collector.timestamp = record.approximateArrivalTimestamp() == null
                ? Long.MIN_VALUE : record.approximateArrivalTimestamp().toEpochMilli();
        format.deserialize(record.data().asByteArrayUnsafe(), collector);
        state.emitted(record.sequenceNumber());
    }

    /** Adapts the format's Collector to the SourceOutput of the current record. */
    private static final class RowCollector implements Collector<RowData> {
        SourceOutput<RowData> output;
        long timestamp;

        @Override
        public void collect(RowData row) {
            if (timestamp == Long.MIN_VALUE) {
                output.collect(row);
            } else {
                output.collect(row, timestamp);
            }
        }

        @Override
        public void close() {}
    }
}
