package io.vigia.flink.kinesis;

import io.vigia.flink.kinesis.KinesisConnectorOptions.InitialPosition;

import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.util.FlinkRuntimeException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ListShardsRequest;
import software.amazon.awssdk.services.kinesis.model.ListShardsResponse;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Lists the stream's shards at start and every source.shard.discovery.interval, and assigns each
 * shard not seen before to the least loaded reader. A child shard (after resharding) is assigned
 * only once its parents are fully read, so per-key order is kept across resharding. Shards found
 * at job start begin at source.init.position; shards found later begin at TRIM_HORIZON, so
 * nothing written to them is missed. LATEST is resolved once, to AT_TIMESTAMP of the time the
 * job's first enumerator started, and that time is checkpointed (as the official connector does):
 * records put while the readers start up, or before a restore from an early checkpoint, are read.
 */
final class ShardEnumerator implements SplitEnumerator<ShardSplit, EnumeratorState> {
    private static final Logger LOG = LoggerFactory.getLogger(ShardEnumerator.class);

    private final KinesisSourceConfig config;
    private final SplitEnumeratorContext<ShardSplit> context;
    private final Map<String, List<String>> knownShardParents;
    private final Set<String> finishedShards;
    private final List<ShardSplit> unassigned;
    private boolean initialDiscoveryDone;
    /** Splits handed to each reader since this enumerator started (for load balancing only). */
    private final Map<Integer, Integer> assignedCount = new HashMap<>();
    private final KinesisClient kinesis;
    private final long startTimeMillis;

    ShardEnumerator(KinesisSourceConfig config, SplitEnumeratorContext<ShardSplit> context,
            EnumeratorState state, KinesisClient kinesis, LongSupplier clock) {
        this.config = config;
        this.context = context;
        this.kinesis = kinesis;
        this.knownShardParents = new HashMap<>(state.knownShardParents);
        this.finishedShards = new HashSet<>(state.finishedShards);
        this.unassigned = new ArrayList<>(state.unassigned);
        this.initialDiscoveryDone = state.initialDiscoveryDone;
        this.startTimeMillis = state.startTimeMillis > 0 ? state.startTimeMillis : clock.getAsLong();
    }

    @Override
    public void start() {
        context.callAsync(this::listShards, this::onShardsListed, 0, config.discoveryIntervalMs);
    }

    /** Runs in a worker thread. ListShards pages: the ARN on the first call, the token after. */
    private List<Shard> listShards() {
        List<Shard> shards = new ArrayList<>();
        String token = null;
        do {
            ListShardsResponse page = kinesis.listShards(token == null
                    ? ListShardsRequest.builder().streamARN(config.streamArn).build()
                    : ListShardsRequest.builder().nextToken(token).build());
            shards.addAll(page.shards());
            token = page.nextToken();
        } while (token != null);
        return shards;
    }

    /** Runs in the coordinator thread. */
    private void onShardsListed(List<Shard> shards, Throwable error) {
        if (error != null) {
            if (!initialDiscoveryDone && !TransientErrors.isTransient(error)) {
                throw new FlinkRuntimeException(
                        "Cannot list the shards of Kinesis stream " + config.streamArn, error);
            }
            LOG.warn("Shard discovery of {} failed; retrying in {} ms", config.streamArn,
                    config.discoveryIntervalMs, error);
            return;
        }
        // moto ignores ListShards' ShardFilter, and real Kinesis lists closed shards until they
        // expire: so every answer is de-duplicated against the shards already known.
        for (Shard shard : shards) {
            if (knownShardParents.containsKey(shard.shardId())) {
                continue;
            }
            List<String> parents = new ArrayList<>();
            if (shard.parentShardId() != null) {
                parents.add(shard.parentShardId());
            }
            if (shard.adjacentParentShardId() != null) {
                parents.add(shard.adjacentParentShardId());
            }
            knownShardParents.put(shard.shardId(), parents);
            ShardSplit split = initialDiscoveryDone
                    ? new ShardSplit(shard.shardId(), ShardIteratorType.TRIM_HORIZON, null)
                    : initialSplit(shard.shardId());
            LOG.info("Discovered {} of {}", split, config.streamArn);
            unassigned.add(split);
        }
        initialDiscoveryDone = true;
        assignReadySplits();
    }

    private ShardSplit initialSplit(String shardId) {
        InitialPosition p = config.initPosition;
        switch (p) {
            case TRIM_HORIZON:
                return new ShardSplit(shardId, ShardIteratorType.TRIM_HORIZON, null);
            case AT_TIMESTAMP:
                return new ShardSplit(shardId, ShardIteratorType.AT_TIMESTAMP,
                        String.valueOf(config.initTimestampMillis));
            default: // LATEST
                return new ShardSplit(shardId, ShardIteratorType.AT_TIMESTAMP, String.valueOf(startTimeMillis));
        }
    }

    /**
     * Assigns every unassigned split whose parents are finished (or unknown: expired/untracked),
     * once all readers are registered: assigning to the first reader that registers would put
     * every shard on it.
     */
    private void assignReadySplits() {
        Set<Integer> readers = context.registeredReaders().keySet();
        if (readers.isEmpty() || readers.size() < context.currentParallelism()) {
            return;
        }
        for (Iterator<ShardSplit> it = unassigned.iterator(); it.hasNext(); ) {
            ShardSplit split = it.next();
            boolean parentsDone = knownShardParents.getOrDefault(split.shardId, List.of()).stream()
                    .allMatch(p -> finishedShards.contains(p) || !knownShardParents.containsKey(p));
            if (!parentsDone) {
                continue;
            }
            int reader = readers.stream()
                    .min((a, b) -> Integer.compare(
                            assignedCount.getOrDefault(a, 0), assignedCount.getOrDefault(b, 0)))
                    .get();
            context.assignSplit(split, reader);
            assignedCount.merge(reader, 1, Integer::sum);
            it.remove();
        }
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent event) {
        if (event instanceof ShardsFinishedEvent) {
            for (String shardId : ((ShardsFinishedEvent) event).shardIds) {
                if (finishedShards.add(shardId)) {
                    assignedCount.merge(subtaskId, -1, Integer::sum);
                }
            }
            assignReadySplits();
        }
    }

    @Override
    public void addSplitsBack(List<ShardSplit> splits, int subtaskId) {
        // Splits of a failed reader since the last checkpoint: they carry their checkpointed start.
        for (ShardSplit split : splits) {
            unassigned.removeIf(s -> s.shardId.equals(split.shardId));
            if (!split.finished) {
                unassigned.add(split);
            }
        }
        assignedCount.remove(subtaskId);
    }

    @Override
    public void addReader(int subtaskId) {
        assignReadySplits();
    }

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {
        // Splits are pushed on discovery; readers never ask.
    }

    @Override
    public EnumeratorState snapshotState(long checkpointId) {
        return new EnumeratorState(new HashMap<>(knownShardParents), new HashSet<>(finishedShards),
                new ArrayList<>(unassigned), initialDiscoveryDone, startTimeMillis);
    }

    @Override
    public void close() {
        kinesis.close();
    }
}
