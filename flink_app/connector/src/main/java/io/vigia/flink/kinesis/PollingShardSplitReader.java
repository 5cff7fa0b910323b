package io.vigia.flink.kinesis;

import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ExpiredIteratorException;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Polls the shards assigned to one reader with GetRecords, one call per fetch(), always on the
 * shard whose next poll is due first. Kinesis allows 5 GetRecords calls per second per shard,
 * shared by every consumer of the stream, so a shard is polled at most every 200 ms, by default
 * every second, and less and less often while it stays empty. Transient errors (throttling, 5xx,
 * KMS throttling, I/O) left after the SDK's own retries make the shard wait, doubling, and are
 * retried; other errors fail the job. A shard whose iterator ends is a finished split.
 * Per shard a `millisBehindLatest` gauge (the official connector's metric and scope) tells how far
 * the last GetRecords answer was behind the tip of the shard.
 */
final class PollingShardSplitReader implements SplitReader<Record, ShardSplit> {
    private static final Logger LOG = LoggerFactory.getLogger(PollingShardSplitReader.class);
    /** Upper bound of one idle wait, so new splits and shutdown are noticed promptly. */
    private static final long MAX_IDLE_WAIT_MS = 100;

    private final KinesisSourceConfig config;
    private final KinesisClient kinesis;
    private final MetricGroup streamMetrics;
    private final Map<String, ShardCursor> shards = new LinkedHashMap<>();
    private final Object wakeUpLock = new Object();
    private boolean wakeUpRequested;

    /** Reading position of one shard. */
    private static final class ShardCursor {
        ShardSplit start;
        String iterator;
        long nextPollAtMs;
        /** Wait after the last empty answer (grows while the shard stays empty), 0 after records. */
        long emptyWaitMs;
        /** Wait after the last transient error (grows while errors repeat), 0 after a success. */
        long retryWaitMs;
        /** Of the last GetRecords answer; -1 until there is one (read by the metrics thread). */
        volatile long millisBehindLatest = -1;

        ShardCursor(ShardSplit start) {
            this.start = start;
        }
    }

    PollingShardSplitReader(KinesisSourceConfig config, KinesisClient kinesis, MetricGroup readerMetrics) {
        this.config = config;
        this.kinesis = kinesis;
        String[] arn = config.streamArn.split(":", 6);
        this.streamMetrics = readerMetrics.addGroup("KinesisStreamSource")
                .addGroup("accountId", arn[4])
                .addGroup("region", arn[3])
                .addGroup("stream", arn[5].substring("stream/".length()));
    }

    @Override
    public RecordsWithSplitIds<Record> fetch() {
        ShardCursor due = null;
        for (ShardCursor c : shards.values()) {
            if (due == null || c.nextPollAtMs < due.nextPollAtMs) {
                due = c;
            }
        }
        long now = System.currentTimeMillis();
        if (due == null || due.nextPollAtMs > now) {
            idleWait(due == null ? MAX_IDLE_WAIT_MS : due.nextPollAtMs - now);
            return empty();
        }
        return poll(due);
    }

    private RecordsWithSplitIds<Record> poll(ShardCursor c) {
        String shardId = c.start.shardId;
        GetRecordsResponse response;
        try {
            if (c.iterator == null) {
                c.iterator = kinesis.getShardIterator(c.start.iteratorRequest(config.streamArn)).shardIterator();
            }
            response = kinesis.getRecords(GetRecordsRequest.builder()
                    .streamARN(config.streamArn)
                    .shardIterator(c.iterator)
                    .limit(config.maxRecordsPerCall)
                    .build());
        } catch (ExpiredIteratorException e) {
            // Iterators live 5 minutes: get a new one from the last fetched position.
            LOG.info("Shard iterator of {} expired; requesting a new one from {}", shardId, c.start);
            c.iterator = null;
            return empty();
        } catch (SdkException e) {
            if (!TransientErrors.isTransient(e)) {
                throw e;
            }
            // Wait longer each time, counted from when the call returned. The iterator is kept:
            // it stays valid, and a new one is taken only if it expired meanwhile.
            c.retryWaitMs = Math.min(config.retryDelayMaxMs, Math.max(config.retryDelayMinMs, c.retryWaitMs * 2));
            c.nextPollAtMs = System.currentTimeMillis() + c.retryWaitMs;
            LOG.warn("Transient error on {} ({}: {}); next poll in {} ms", shardId,
                    e.getClass().getSimpleName(), e.getMessage(), c.retryWaitMs);
            return empty();
        }
        // Intervals count from when the call returned: the SDK may have spent time in retries, and
        // the next call must still come >= 200 ms after the last request that reached Kinesis.
        long now = System.currentTimeMillis();
        c.retryWaitMs = 0;
        if (response.millisBehindLatest() != null) {
            c.millisBehindLatest = response.millisBehindLatest();
        }
        RecordsBySplits.Builder<Record> batch = new RecordsBySplits.Builder<>();
        if (!response.records().isEmpty()) {
            batch.addAll(shardId, response.records());
            String last = response.records().get(response.records().size() - 1).sequenceNumber();
            c.start = ShardSplit.afterSequenceNumber(shardId, last);
        }
        c.iterator = response.nextShardIterator();
        if (c.iterator == null) {
            LOG.info("Shard {} of {} is closed and fully read", shardId, config.streamArn);
            c.millisBehindLatest = 0;
            shards.remove(shardId);
            batch.addFinishedSplit(shardId);
        } else if (response.records().isEmpty()) {
            c.emptyWaitMs = c.emptyWaitMs == 0 ? config.emptyPollIntervalMs
                    : Math.min(config.maxEmptyPollIntervalMs, c.emptyWaitMs * 2);
            c.nextPollAtMs = now + c.emptyWaitMs;
        } else {
            c.emptyWaitMs = 0;
            c.nextPollAtMs = now + config.nonEmptyPollIntervalMs;
        }
        return batch.build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ShardSplit> change) {
        if (!(change instanceof SplitsAddition)) {
            throw new UnsupportedOperationException("Unsupported splits change " + change);
        }
        for (ShardSplit s : change.splits()) {
            LOG.info("Reading {} of {}", s, config.streamArn);
            ShardCursor cursor = new ShardCursor(s);
            shards.put(s.shardId, cursor);
            streamMetrics.addGroup("shardId", s.shardId)
                    .gauge("millisBehindLatest", (Gauge<Long>) () -> cursor.millisBehindLatest);
        }
    }

    @Override
    public void wakeUp() {
        synchronized (wakeUpLock) {
            wakeUpRequested = true;
            wakeUpLock.notifyAll();
        }
    }

    private void idleWait(long ms) {
        synchronized (wakeUpLock) {
            try {
                if (!wakeUpRequested && ms > 0) {
                    wakeUpLock.wait(Math.min(ms, MAX_IDLE_WAIT_MS));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                wakeUpRequested = false;
            }
        }
    }

    private static RecordsWithSplitIds<Record> empty() {
        return new RecordsBySplits.Builder<Record>().build();
    }

    @Override
    public void close() {
        kinesis.close();
    }
}
