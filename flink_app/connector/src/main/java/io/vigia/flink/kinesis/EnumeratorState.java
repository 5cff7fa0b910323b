package io.vigia.flink.kinesis;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checkpointed enumerator state: every shard seen (with its parents, for parent-before-child
 * order), the shards read to their end, the splits not yet assigned to a reader, and the time a
 * LATEST start was resolved to. Splits that are assigned live in the readers' state.
 */
public final class EnumeratorState {
    static final EnumeratorState EMPTY = new EnumeratorState(Map.of(), Set.of(), List.of(), false, 0);
    static final SimpleVersionedSerializer<EnumeratorState> SERIALIZER = new Serializer();

    final Map<String, List<String>> knownShardParents;
    final Set<String> finishedShards;
    final List<ShardSplit> unassigned;
    /** False until the first ListShards answered: those shards start at source.init.position. */
    final boolean initialDiscoveryDone;
    /** Epoch millis the job's first enumerator started at (LATEST reads from then on); 0 = not yet. */
    final long startTimeMillis;

    EnumeratorState(Map<String, List<String>> knownShardParents, Set<String> finishedShards,
            List<ShardSplit> unassigned, boolean initialDiscoveryDone, long startTimeMillis) {
        this.knownShardParents = knownShardParents;
        this.finishedShards = finishedShards;
        this.unassigned = unassigned;
        this.initialDiscoveryDone = initialDiscoveryDone;
        this.startTimeMillis = startTimeMillis;
    }

    private static final class Serializer implements SimpleVersionedSerializer<EnumeratorState> {
        private static final int VERSION = 2;  // 2: the start time; splits with their watermark

        @Override
        public int getVersion() {
            return VERSION;
        }

        @Override
        public byte[] serialize(EnumeratorState s) throws IOException {
            DataOutputSerializer out = new DataOutputSerializer(256);
            out.writeBoolean(s.initialDiscoveryDone);
            out.writeLong(s.startTimeMillis);
            out.writeInt(s.knownShardParents.size());
            for (Map.Entry<String, List<String>> e : s.knownShardParents.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeInt(e.getValue().size());
                for (String parent : e.getValue()) {
                    out.writeUTF(parent);
                }
            }
            out.writeInt(s.finishedShards.size());
            for (String id : s.finishedShards) {
                out.writeUTF(id);
            }
            out.writeInt(s.unassigned.size());
            for (ShardSplit split : s.unassigned) {
                ShardSplitSerializer.write(split, out);
            }
            return out.getCopyOfBuffer();
        }

        @Override
        public EnumeratorState deserialize(int version, byte[] bytes) throws IOException {
            if (version != 1 && version != VERSION) {
                throw new IOException("Unknown enumerator state version " + version);
            }
            DataInputDeserializer in = new DataInputDeserializer(bytes);
            boolean initialDone = in.readBoolean();
            long startTime = version >= 2 ? in.readLong() : 0;
            Map<String, List<String>> known = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                String id = in.readUTF();
                List<String> parents = new ArrayList<>();
                for (int j = in.readInt(); j > 0; j--) {
                    parents.add(in.readUTF());
                }
                known.put(id, parents);
            }
            Set<String> finished = new HashSet<>();
            for (int i = in.readInt(); i > 0; i--) {
                finished.add(in.readUTF());
            }
            List<ShardSplit> unassigned = new ArrayList<>();
            for (int i = in.readInt(); i > 0; i--) {
                unassigned.add(ShardSplitSerializer.read(in, version));
            }
            return new EnumeratorState(known, finished, unassigned, initialDone, startTime);
        }
    }
}
