package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;

import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ListShardsRequest;
import software.amazon.awssdk.services.kinesis.model.ListShardsResponse;
import software.amazon.awssdk.services.kinesis.model.Shard;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

/** Hand-written fakes: an enumerator context that runs discovery on demand, a Kinesis that lists shards. */
final class Fakes {
    private Fakes() {}

    static final String ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/s";

    static KinesisSourceConfig config(Map<String, String> options) {
        Map<String, String> all = new HashMap<>(options);
        all.put("stream.arn", ARN);
        return KinesisSourceConfig.from(Configuration.fromMap(all));
    }

    static Shard shard(String id, String... parents) {
        return Shard.builder().shardId(id)
                .parentShardId(parents.length > 0 ? parents[0] : null)
                .adjacentParentShardId(parents.length > 1 ? parents[1] : null)
                .build();
    }

    /** A Kinesis whose ListShards answers the current `shards`, in pages of `pageSize`, after
     *  throwing the queued `failures` one call each. */
    static class ListingKinesis implements KinesisClient {
        List<Shard> shards = new ArrayList<>();
        final java.util.Deque<RuntimeException> failures = new java.util.ArrayDeque<>();
        int pageSize = 1000;
        int calls;

        @Override
        public ListShardsResponse listShards(ListShardsRequest request) {
            calls++;
            if (!failures.isEmpty()) {
                throw failures.poll();
            }
            int from = request.nextToken() == null ? 0 : Integer.parseInt(request.nextToken());
            int to = Math.min(shards.size(), from + pageSize);
            return ListShardsResponse.builder().shards(shards.subList(from, to))
                    .nextToken(to < shards.size() ? String.valueOf(to) : null).build();
        }

        @Override
        public String serviceName() {
            return "kinesis";
        }

        @Override
        public void close() {}
    }

    /** A metric group that keeps its gauges by scope, e.g. "KinesisStreamSource.stream.s.millisBehindLatest". */
    static final class Metrics extends UnregisteredMetricsGroup {
        final Map<String, Gauge<?>> gauges;
        private final String scope;

        Metrics() {
            this(new HashMap<>(), "");
        }

        private Metrics(Map<String, Gauge<?>> gauges, String scope) {
            this.gauges = gauges;
            this.scope = scope;
        }

        @Override
        public MetricGroup addGroup(String name) {
            return new Metrics(gauges, scope + name + ".");
        }

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new Metrics(gauges, scope + key + "." + value + ".");
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            gauges.put(scope + name, gauge);
            return gauge;
        }
    }

    /** Runs the periodic discovery only when the test calls discover(). */
    static final class Context implements SplitEnumeratorContext<ShardSplit> {
        final Map<Integer, ReaderInfo> readers = new HashMap<>();
        final Map<Integer, List<ShardSplit>> assigned = new HashMap<>();
        /** The source's parallelism; 0 = as many as registered readers. */
        int parallelism;
        private Runnable periodic;

        void register(int subtask) {
            readers.put(subtask, new ReaderInfo(subtask, "localhost"));
        }

        void discover() {
            periodic.run();
        }

        List<ShardSplit> allAssigned() {
            List<ShardSplit> all = new ArrayList<>();
            assigned.values().forEach(all::addAll);
            return all;
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler,
                long initialDelay, long period) {
            periodic = () -> callAsync(callable, handler);
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler) {
            T result = null;
            Throwable error = null;
            try {
                result = callable.call();
            } catch (Throwable t) {
                error = t;
            }
            handler.accept(result, error);
        }

        @Override
        public void assignSplits(SplitsAssignment<ShardSplit> assignment) {
            assignment.assignment().forEach(
                    (subtask, splits) -> assigned.computeIfAbsent(subtask, k -> new ArrayList<>()).addAll(splits));
        }

        @Override
        public SplitEnumeratorMetricGroup metricGroup() {
            return null;
        }

        @Override
        public void sendEventToSourceReader(int subtaskId, SourceEvent event) {}

        @Override
        public int currentParallelism() {
            return parallelism > 0 ? parallelism : readers.size();
        }

        @Override
        public Map<Integer, ReaderInfo> registeredReaders() {
            return readers;
        }

        @Override
        public void signalNoMoreSplits(int subtask) {}

        @Override
        public void runInCoordinatorThread(Runnable runnable) {
            runnable.run();
        }
    }
}
