package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.SourceSplit;

import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.time.Instant;
import java.util.Objects;

/**
 * One shard of the stream, with where to (re)start reading it. After records were consumed the
 * start is AFTER_SEQUENCE_NUMBER of the last emitted record, which is what a checkpoint stores.
 * A split marked finished stands for a shard that was read to its end: readers keep such markers
 * in their state so that, after a restore, the enumerator learns again that the shard is done
 * (its children may then be read) even if it had not recorded that in its own checkpoint.
 * A checkpointed split also carries the shard's watermark then (and whether the shard was idle),
 * so that after a restore an event that was late before the crash is late again.
 */
public final class ShardSplit implements SourceSplit {
    final String shardId;
    final ShardIteratorType startType;
    /** Sequence number for AFTER_SEQUENCE_NUMBER, epoch millis for AT_TIMESTAMP, else null. */
    final String startMarker;
    final boolean finished;
    /** The last watermark generated for this shard, Long.MIN_VALUE if none. */
    final long watermark;
    /** Whether the shard was marked idle (then it does not hold the reader's watermark back). */
    final boolean idle;

    ShardSplit(String shardId, ShardIteratorType startType, String startMarker) {
        this(shardId, startType, startMarker, false, Long.MIN_VALUE, false);
    }

    private ShardSplit(String shardId, ShardIteratorType startType, String startMarker, boolean finished,
            long watermark, boolean idle) {
        this.shardId = Objects.requireNonNull(shardId);
        this.startType = Objects.requireNonNull(startType);
        this.startMarker = startMarker;
        this.finished = finished;
        this.watermark = watermark;
        this.idle = idle;
    }

    ShardSplit asFinished() {
        return new ShardSplit(shardId, startType, startMarker, true, watermark, idle);
    }

    ShardSplit withWatermark(long watermark, boolean idle) {
        return new ShardSplit(shardId, startType, startMarker, finished, watermark, idle);
    }

    boolean hasWatermark() {
        return watermark != Long.MIN_VALUE;
    }

    static ShardSplit afterSequenceNumber(String shardId, String sequenceNumber) {
        return new ShardSplit(shardId, ShardIteratorType.AFTER_SEQUENCE_NUMBER, sequenceNumber);
    }

    @Override
    public String splitId() {
        return shardId;
    }

    /** The GetShardIterator request that starts reading this split. */
    GetShardIteratorRequest iteratorRequest(String streamArn) {
        GetShardIteratorRequest.Builder b = GetShardIteratorRequest.builder()
                .streamARN(streamArn).shardId(shardId).shardIteratorType(startType);
        if (startType == ShardIteratorType.AFTER_SEQUENCE_NUMBER) {
            b.startingSequenceNumber(startMarker);
        } else if (startType == ShardIteratorType.AT_TIMESTAMP) {
            b.timestamp(Instant.ofEpochMilli(Long.parseLong(startMarker)));
        }
        return b.build();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ShardSplit)) {
            return false;
        }
        ShardSplit s = (ShardSplit) o;
        return shardId.equals(s.shardId) && startType == s.startType
                && Objects.equals(startMarker, s.startMarker) && finished == s.finished
                && watermark == s.watermark && idle == s.idle;
    }

    @Override
    public int hashCode() {
        return Objects.hash(shardId, startType, startMarker, finished, watermark, idle);
    }

    @Override
    public String toString() {
        return "ShardSplit{" + shardId + (finished ? " finished" : "") + " from " + startType
                + (startMarker == null ? "" : " " + startMarker)
                + (hasWatermark() ? " watermark " + watermark + (idle ? " idle" : "") : "") + "}";
    }
}
