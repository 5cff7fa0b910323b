package io.vigia.flink.kinesis;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.io.IOException;

/**
 * Checkpoint format of a {@link ShardSplit}: shard id, iterator type, optional marker, finished,
 * and (version 2) the shard's watermark and idleness. Version 1 states (no watermark) still load.
 */
public final class ShardSplitSerializer implements SimpleVersionedSerializer<ShardSplit> {
    static final ShardSplitSerializer INSTANCE = new ShardSplitSerializer();
    private static final int VERSION = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(ShardSplit split) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        write(split, out);
        return out.getCopyOfBuffer();
    }

    @Override
    public ShardSplit deserialize(int version, byte[] bytes) throws IOException {
        if (version != 1 && version != VERSION) {
            throw new IOException("Unknown ShardSplit serializer version " + version);
        }
        return read(new DataInputDeserializer(bytes), version);
    }

    static void write(ShardSplit split, DataOutputView out) throws IOException {
        out.writeUTF(split.shardId);
        out.writeUTF(split.startType.name());
        out.writeBoolean(split.startMarker != null);
        if (split.startMarker != null) {
            out.writeUTF(split.startMarker);
        }
        out.writeBoolean(split.finished);
        out.writeLong(split.watermark);
        out.writeBoolean(split.idle);
    }

    static ShardSplit read(DataInputView in, int version) throws IOException {
        String shardId = in.readUTF();
        ShardIteratorType type = ShardIteratorType.valueOf(in.readUTF());
        String marker = in.readBoolean() ? in.readUTF() : null;
        ShardSplit split = new ShardSplit(shardId, type, marker);
        split = in.readBoolean() ? split.asFinished() : split;
        return version >= 2 ? split.withWatermark(in.readLong(), in.readBoolean()) : split;
    }
}
