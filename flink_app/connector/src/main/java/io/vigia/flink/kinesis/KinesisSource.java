package io.vigia.flink.kinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.data.RowData;
import org.apache.flink.util.UserCodeClassLoader;

import java.util.List;

/** FLIP-27 source: splits = shards of one stream, rows decoded by the table's format. */
public final class KinesisSource
        implements Source<RowData, ShardSplit, EnumeratorState>, ResultTypeQueryable<RowData> {
    private static final long serialVersionUID = 1L;

    private final KinesisSourceConfig config;
    private final DeserializationSchema<RowData> format;
    private final List<RowMetadata> metadata;
    private final TypeInformation<RowData> producedType;

    /** Rows = the format's columns followed by the `metadata` columns, of `producedType`. */
    KinesisSource(KinesisSourceConfig config, DeserializationSchema<RowData> format,
            List<RowMetadata> metadata, TypeInformation<RowData> producedType) {
        this.config = config;
        this.format = format;
        this.metadata = List.copyOf(metadata);
        this.producedType = producedType;
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<RowData, ShardSplit> createReader(SourceReaderContext context) throws Exception {
        format.open(new DeserializationSchema.InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
                return context.metricGroup().addGroup("deserializer");
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
                return context.getUserCodeClassLoader();
            }
        });
        return new KinesisSourceReader(config, new KinesisRecordEmitter(format, metadata), context);
    }

    @Override
    public SplitEnumerator<ShardSplit, EnumeratorState> createEnumerator(
            SplitEnumeratorContext<ShardSplit> context) {
        return new ShardEnumerator(config, context, EnumeratorState.EMPTY, config.createClient(),
                System::currentTimeMillis);
    }

    @Override
    public SplitEnumerator<ShardSplit, EnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<ShardSplit> context, EnumeratorState state) {
        return new ShardEnumerator(config, context, state, config.createClient(), System::currentTimeMillis);
    }

    @Override
    public SimpleVersionedSerializer<ShardSplit> getSplitSerializer() {
        return ShardSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<EnumeratorState> getEnumeratorCheckpointSerializer() {
        return EnumeratorState.SERIALIZER;
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return producedType;
    }
}
