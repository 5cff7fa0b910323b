package io.vigia.flink.kinesis;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.DataType;

import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** The metadata columns of the official connector: `... METADATA FROM 'shard-id'` etc. */
enum RowMetadata {
    TIMESTAMP("timestamp", DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE(3).notNull()),
    SEQUENCE_NUMBER("sequence-number", DataTypes.VARCHAR(128).notNull()),
    SHARD_ID("shard-id", DataTypes.VARCHAR(128).notNull());

    final String key;
    final DataType type;

    RowMetadata(String key, DataType type) {
        this.key = key;
        this.type = type;
    }

    static Map<String, DataType> readable() {
        Map<String, DataType> all = new LinkedHashMap<>();
        for (RowMetadata m : values()) {
            all.put(m.key, m.type);
        }
        return all;
    }

    static RowMetadata of(String key) {
        return Arrays.stream(values()).filter(m -> m.key.equals(key)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("Unknown Kinesis metadata key " + key));
    }

    /** This column's value for a record of a shard, in Flink's internal data format. */
    Object valueOf(Record record, String shardId) {
        switch (this) {
            case TIMESTAMP:
                return TimestampData.fromInstant(record.approximateArrivalTimestamp());
            case SEQUENCE_NUMBER:
                return StringData.fromString(record.sequenceNumber());
            default:
                return StringData.fromString(shardId);
        }
    }
}
