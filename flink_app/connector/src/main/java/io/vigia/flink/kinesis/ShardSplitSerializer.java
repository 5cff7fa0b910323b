package io.vigia.flink.kinesis;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.io.IOException;

/** Checkpoint format of a {@link ShardSplit}: shard id, iterator type, optional marker, finished. */
public final class ShardSplitSerializer implements SimpleVersionedSerializer<ShardSplit> {
    static final ShardSplitSerializer INSTANCE = new ShardSplitSerializer();
    private static final int VERSION = 1;

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
        if (version != VERSION) {
            throw new IOException("Unknown ShardSplit serializer version " + version);
        }
        return read(new DataInputDeserializer(bytes));
    }

    static void write(ShardSplit split, DataOutputView out) throws IOException {
        out.writeUTF(split.shardId);
        out.writeUTF(split.startType.name());
        out.writeBoolean(split.startMarker != null);
        if (split.startMarker != null) {
            out.writeUTF(split.startMarker);
        }
        out.writeBoolean(split.finished);
    }

    static ShardSplit read(DataInputView in) throws IOException {
        String shardId = in.readUTF();
        ShardIteratorType type = ShardIteratorType.valueOf(in.readUTF());
        String marker = in.readBoolean() ? in.readUTF() : null;
        ShardSplit split = new ShardSplit(shardId, type, marker);
        return in.readBoolean() ? split.asFinished() : split;
    }
}
