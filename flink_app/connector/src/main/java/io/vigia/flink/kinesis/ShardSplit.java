package io.vigia.flink.kinesis;

import org.apache.flink.api.connector.source.SourceSplit;

import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

import java.time.Instant;
import java.util.Objects;

/**
 * One shard of the stream, with where to (re)start reading it. After records were consumed the
 * start is AFTER_SEQUENCE_NUMBER of the last emitted record, which is what a checkpoint stores.
 */
public final class ShardSplit implements SourceSplit {
    final String shardId;
    final ShardIteratorType startType;
    /** Sequence number for AFTER_SEQUENCE_NUMBER, epoch millis for AT_TIMESTAMP, else null. */
    final String startMarker;

    ShardSplit(String shardId, ShardIteratorType startType, String startMarker) {
        this.shardId = Objects.requireNonNull(shardId);
        this.startType = Objects.requireNonNull(startType);
        this.startMarker = startMarker;
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
                && Objects.equals(startMarker, s.startMarker);
    }

    @Override
    public int hashCode() {
        return Objects.hash(shardId, startType, startMarker);
    }

    @Override
    public String toString() {
        return "ShardSplit{" + shardId + " from " + startType
                + (startMarker == null ? "" : " " + startMarker) + "}";
    }
}
