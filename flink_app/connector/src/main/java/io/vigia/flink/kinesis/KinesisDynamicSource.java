package io.vigia.flink.kinesis;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.ProviderContext;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DataStreamScanProvider;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.abilities.SupportsReadingMetadata;
import org.apache.flink.table.connector.source.abilities.SupportsWatermarkPushDown;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The table side of the source: decodes each record's data with the table's 'format', can add
 * the official connector's metadata columns ('timestamp', 'sequence-number', 'shard-id'), and
 * takes the DDL's WATERMARK into the source, so watermarks are generated per shard: a reader
 * that reads several shards never lets one shard's progress make another shard's records late.
 */
final class KinesisDynamicSource
        implements ScanTableSource, SupportsReadingMetadata, SupportsWatermarkPushDown {
    private final KinesisSourceConfig config;
    private final DecodingFormat<DeserializationSchema<RowData>> format;
    private final DataType physicalRowType;
    private List<RowMetadata> metadata = List.of();
    private DataType producedType;
    private WatermarkStrategy<RowData> watermarks = WatermarkStrategy.noWatermarks();

    KinesisDynamicSource(KinesisSourceConfig config,
            DecodingFormat<DeserializationSchema<RowData>> format, DataType physicalRowType) {
        this.config = config;
        this.format = format;
        this.physicalRowType = physicalRowType;
        this.producedType = physicalRowType;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return format.getChangelogMode();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        KinesisSource source = new KinesisSource(config,
                format.createRuntimeDecoder(context, physicalRowType), metadata,
                context.createTypeInformation(producedType));
        // per-shard watermarks that also go into the checkpoint (restored: see KinesisSourceReader)
        WatermarkStrategy<RowData> strategy = new SplitWatermarks(watermarks);
        String name = asSummaryString();
        return new DataStreamScanProvider() {
            @Override
            public DataStream<RowData> produceDataStream(
                    ProviderContext provider, StreamExecutionEnvironment env) {
                DataStreamSource<RowData> stream = env.fromSource(source, strategy, name);
                // a stable uid keeps the source's state restorable when the rest of the plan changes
                provider.generateUid("kinesis-source").ifPresent(stream::uid);
                return stream;
            }

            @Override
            public boolean isBounded() {
                return false;
            }
        };
    }

    @Override
    public void applyWatermark(WatermarkStrategy<RowData> watermarkStrategy) {
        this.watermarks = watermarkStrategy;
    }

    @Override
    public Map<String, DataType> listReadableMetadata() {
        return RowMetadata.readable();
    }

    @Override
    public void applyReadableMetadata(List<String> metadataKeys, DataType producedDataType) {
        this.metadata = metadataKeys.stream().map(RowMetadata::of).collect(Collectors.toList());
        this.producedType = producedDataType;
    }

    @Override
    public DynamicTableSource copy() {
        KinesisDynamicSource copy = new KinesisDynamicSource(config, format, physicalRowType);
        copy.metadata = metadata;
        copy.producedType = producedType;
        copy.watermarks = watermarks;
        return copy;
    }

    @Override
    public String asSummaryString() {
        return "Kinesis(" + config.streamArn + ")";
    }
}
