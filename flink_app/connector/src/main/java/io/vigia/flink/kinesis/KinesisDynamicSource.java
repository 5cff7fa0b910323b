package io.vigia.flink.kinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.connector.source.abilities.SupportsReadingMetadata;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The table side of the source: decodes each record's data with the table's 'format' and can add
 * the official connector's metadata columns ('timestamp', 'sequence-number', 'shard-id').
 */
final class KinesisDynamicSource implements ScanTableSource, SupportsReadingMetadata {
    private final KinesisSourceConfig config;
    private final DecodingFormat<DeserializationSchema<RowData>> format;
    private final DataType physicalRowType;
    private List<RowMetadata> metadata = List.of();
    private DataType producedType;

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
        return SourceProvider.of(new KinesisSource(config,
                format.createRuntimeDecoder(context, physicalRowType), metadata,
                context.createTypeInformation(producedType)));
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
        return copy;
    }

    @Override
    public String asSummaryString() {
        return "Kinesis(" + config.streamArn + ")";
    }
}
