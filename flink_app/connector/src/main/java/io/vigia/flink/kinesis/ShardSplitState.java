package io.vigia.flink.kinesis;

/** Mutable reader-side state of a split: the sequence number of the last emitted record. */
final class ShardSplitState {
    private final ShardSplit split;
    private String lastEmittedSequenceNumber;

    ShardSplitState(ShardSplit split) {
        this.split = split;
    }

    String shardId() {
        return split.shardId;
    }

    void emitted(String sequenceNumber) {
        lastEmittedSequenceNumber = sequenceNumber;
    }

    /** What a checkpoint stores: continue after the last emitted record, or the original start. */
    ShardSplit toSplit() {
        return lastEmittedSequenceNumber == null
                ? split
                : ShardSplit.afterSequenceNumber(split.shardId, lastEmittedSequenceNumber);
    }
}
