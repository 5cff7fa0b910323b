package io.vigia.flink.kinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

/** The table side of the source: decodes each record's data with the table's 'format'. */
final class KinesisDynamicSource implements ScanTableSource {
    private final KinesisSourceConfig config;
    private final DecodingFormat<DeserializationSchema<RowData>> format;
    private final DataType physicalRowType;

    KinesisDynamicSource(KinesisSourceConfig config,
            DecodingFormat<DeserializationSchema<RowData>> format, DataType physicalRowType) {
        this.config = config;
        this.format = format;
        this.physicalRowType = physicalRowType;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return format.getChangelogMode();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        return SourceProvider.of(
                new KinesisSource(config, format.createRuntimeDecoder(context, physicalRowType)));
    }

    @Override
    public DynamicTableSource copy() {
        return new KinesisDynamicSource(config, format, physicalRowType);
    }

    @Override
    public String asSummaryString() {
        return "Kinesis(" + config.streamArn + ")";
    }
}
