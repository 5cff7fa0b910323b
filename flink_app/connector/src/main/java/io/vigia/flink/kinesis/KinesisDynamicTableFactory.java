package io.vigia.flink.kinesis;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;

import java.util.Set;

import static io.vigia.flink.kinesis.KinesisConnectorOptions.*;

/**
 * 'connector' = 'kinesis': a read-only subset of the official Kinesis table connector with the
 * same option names. Unknown options fail validation (FactoryUtil names them and lists the
 * supported ones), so an option of the official connector that this one lacks is never ignored.
 */
public final class KinesisDynamicTableFactory implements DynamicTableSourceFactory {
    public static final String IDENTIFIER = "kinesis";

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        DecodingFormat<DeserializationSchema<RowData>> format =
                helper.discoverDecodingFormat(DeserializationFormatFactory.class, FactoryUtil.FORMAT);
        helper.validate();
        return new KinesisDynamicSource(KinesisSourceConfig.from(helper.getOptions()), format,
                context.getPhysicalRowDataType());
    }

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(STREAM_ARN, FactoryUtil.FORMAT);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(AWS_REGION, AWS_ENDPOINT, AWS_TRUST_ALL_CERTIFICATES, AWS_CREDENTIALS_PROVIDER,
                AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, INIT_POSITION, INIT_TIMESTAMP,
                INIT_TIMESTAMP_FORMAT, SHARD_DISCOVERY_INTERVAL, GET_RECORDS_MAX, READER_TYPE,
                EMPTY_RECORDS_FETCH_INTERVAL, EMPTY_RECORDS_FETCH_INTERVAL_MAX,
                NONEMPTY_RECORDS_FETCH_INTERVAL, RETRY_DELAY_MIN, RETRY_DELAY_MAX);
    }
}
