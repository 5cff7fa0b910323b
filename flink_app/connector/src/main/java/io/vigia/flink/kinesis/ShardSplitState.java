package io.vigia.flink.kinesis;

/**
 * Mutable reader-side state of a split: the sequence number of the last emitted record, and the
 * shard's watermark as its generator last emitted it (see {@link SplitWatermarks}), or the
 * restored one while the generator has not caught up with it.
 */
final class ShardSplitState {
    private final ShardSplit split;
    private String lastEmittedSequenceNumber;
    private long watermark;
    private boolean idle;

    ShardSplitState(ShardSplit split) {
        this.split = split;
        this.watermark = split.watermark;
        this.idle = split.idle;
    }

    String shardId() {
        return split.shardId;
    }

    void emitted(String sequenceNumber) {
        lastEmittedSequenceNumber = sequenceNumber;
    }

    void watermarkEmitted(long timestamp) {
        watermark = Math.max(watermark, timestamp);
        idle = false;
    }

    void idle(boolean isIdle) {
        idle = isIdle;
    }

    /** What a checkpoint stores: continue after the last emitted record (or the original start),
     *  with the shard's current watermark. */
    ShardSplit toSplit() {
        ShardSplit position = lastEmittedSequenceNumber == null
                ? split
                : ShardSplit.afterSequenceNumber(split.shardId, lastEmittedSequenceNumber);
        return position.withWatermark(watermark, idle);
    }
}
