package io.vigia.flink.kinesis;

import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ExpiredIteratorException;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.LimitExceededException;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.kinesis.model.Record;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Polls the shards assigned to one reader with GetRecords, one call per fetch(), always on the
 * shard whose next poll is due first. Each shard is polled at most every 200 ms (5 calls/s/shard)
 * and backs off exponentially on throttling. A shard whose iterator ends is a finished split.
 */
final class PollingShardSplitReader implements SplitReader<Record, ShardSplit> {
    private static final Logger LOG = LoggerFactory.getLogger(PollingShardSplitReader.class);
    private static final long MAX_BACKOFF_MS = 10_000;
    /** Upper bound of one idle wait, so new splits and shutdown are noticed promptly. */
    private static final long MAX_IDLE_WAIT_MS = 100;

    private final KinesisSourceConfig config;
    private final KinesisClient kinesis;
    private final Map<String, ShardCursor> shards = new LinkedHashMap<>();
    private final Object wakeUpLock = new Object();
    private boolean wakeUpRequested;

    /** Reading position of one shard. */
    private static final class ShardCursor {
        ShardSplit start;
        String iterator;
        long nextPollAtMs;
        long backoffMs;

        ShardCursor(ShardSplit start) {
            this.start = start;
        }
    }

    PollingShardSplitReader(KinesisSourceConfig config, KinesisClient kinesis) {
        this.config = config;
        this.kinesis = kinesis;
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
        } catch (ProvisionedThroughputExceededException | LimitExceededException e) {
            // (after the SDK's own retries) wait longer each time, from when the call returned
            long now = System.currentTimeMillis();
            c.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(config.nonEmptyPollIntervalMs, c.backoffMs * 2));
            c.nextPollAtMs = now + c.backoffMs;
            LOG.warn("Throttled on {} ({}); next poll in {} ms", shardId, e.getClass().getSimpleName(), c.backoffMs);
            return empty();
        }
        // Intervals count from when the call returned: the SDK may have spent time in retries, and
        // the next call must still come >= 200 ms after the last request that reached Kinesis.
        long now = System.currentTimeMillis();
        c.backoffMs = 0;
        RecordsBySplits.Builder<Record> batch = new RecordsBySplits.Builder<>();
        if (!response.records().isEmpty()) {
            batch.addAll(shardId, response.records());
            String last = response.records().get(response.records().size() - 1).sequenceNumber();
            c.start = ShardSplit.afterSequenceNumber(shardId, last);
        }
        c.iterator = response.nextShardIterator();
        if (c.iterator == null) {
            LOG.info("Shard {} of {} is closed and fully read", shardId, config.streamArn);
            shards.remove(shardId);
            batch.addFinishedSplit(shardId);
        } else {
            c.nextPollAtMs = now + (response.records().isEmpty()
                    ? config.emptyPollIntervalMs : config.nonEmptyPollIntervalMs);
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
            shards.put(s.shardId, new ShardCursor(s));
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
