package io.vigia.flink.kinesis;

import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.TimestampAssignerSupplier;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkAlignmentParams;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.table.data.RowData;

/**
 * The table's watermark strategy (pushed into the source), with each shard's generator reporting
 * what it emits to that shard's {@link ShardSplitState}, so that the shard's watermark goes into
 * the checkpoint. Flink creates one generator per split output, in the task thread, and feeds it
 * the split's rows synchronously while the emitter emits them: a generator learns its split from
 * the first row it sees ({@link #EMITTING}, set by the emitter around each record).
 */
final class SplitWatermarks implements WatermarkStrategy<RowData> {
    private static final long serialVersionUID = 1L;

    /** The split whose record the emitter is emitting in this (task) thread. */
    static final ThreadLocal<ShardSplitState> EMITTING = new ThreadLocal<>();

    private final WatermarkStrategy<RowData> strategy;

    SplitWatermarks(WatermarkStrategy<RowData> strategy) {
        this.strategy = strategy;
    }

    @Override
    public WatermarkGenerator<RowData> createWatermarkGenerator(WatermarkGeneratorSupplier.Context context) {
        return new Reporting(strategy.createWatermarkGenerator(context));
    }

    @Override
    public TimestampAssigner<RowData> createTimestampAssigner(TimestampAssignerSupplier.Context context) {
        return strategy.createTimestampAssigner(context);
    }

    @Override
    public WatermarkAlignmentParams getAlignmentParameters() {
        return strategy.getAlignmentParameters();
    }

    /** Delegates to the table's generator; what it emits is also recorded in the split's state. */
    private static final class Reporting implements WatermarkGenerator<RowData> {
        private final WatermarkGenerator<RowData> generator;
        private ShardSplitState split;
        private Recording onEventOutput;
        private Recording periodicOutput;

        Reporting(WatermarkGenerator<RowData> generator) {
            this.generator = generator;
        }

        @Override
        public void onEvent(RowData event, long eventTimestamp, WatermarkOutput output) {
            if (split == null) {
                split = EMITTING.get();
            }
            if (onEventOutput == null || onEventOutput.target != output) {
                onEventOutput = new Recording(output, split);
            }
            generator.onEvent(event, eventTimestamp, onEventOutput);
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            if (split == null) {  // no row yet: nothing to record
                generator.onPeriodicEmit(output);
                return;
            }
            if (periodicOutput == null || periodicOutput.target != output) {
                periodicOutput = new Recording(output, split);
            }
            generator.onPeriodicEmit(periodicOutput);
        }
    }

    /** Forwards to `target` and records the watermark and idleness in the split's state. */
    private static final class Recording implements WatermarkOutput {
        final WatermarkOutput target;
        private final ShardSplitState split;

        Recording(WatermarkOutput target, ShardSplitState split) {
            this.target = target;
            this.split = split;
        }

        @Override
        public void emitWatermark(Watermark watermark) {
            if (split != null) {
                split.watermarkEmitted(watermark.getTimestamp());
            }
            target.emitWatermark(watermark);
        }

        @Override
        public void markIdle() {
            if (split != null) {
                split.idle(true);
            }
            target.markIdle();
        }

        @Override
        public void markActive() {
            if (split != null) {
                split.idle(false);
            }
            target.markActive();
        }
    }
}
