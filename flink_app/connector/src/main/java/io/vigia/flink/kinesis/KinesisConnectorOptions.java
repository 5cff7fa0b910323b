package io.vigia.flink.kinesis;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;

/**
 * Table options of the 'kinesis' source. Every key has the name (and default) of the official
 * flink-connector-aws-kinesis-streams 6.0.0-2.0 option, so a job's DDL is unchanged when the jar is
 * swapped for the official one. Options of the official connector that are not listed here are
 * rejected by validation instead of being silently ignored.
 */
public final class KinesisConnectorOptions {
    private KinesisConnectorOptions() {}

    /** Official values of source.init.position. */
    public enum InitialPosition {
        LATEST,
        TRIM_HORIZON,
        AT_TIMESTAMP
    }

    /** Official values of source.reader.type; only POLLING is implemented (moto has no EFO). */
    public enum ReaderType {
        POLLING,
        EFO
    }

    public static final ConfigOption<String> STREAM_ARN =
            ConfigOptions.key("stream.arn")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("ARN of the Kinesis data stream to read.");

    public static final ConfigOption<String> AWS_REGION =
            ConfigOptions.key("aws.region")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("AWS region; defaults to the region in stream.arn.");

    public static final ConfigOption<String> AWS_ENDPOINT =
            ConfigOptions.key("aws.endpoint")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Endpoint override, e.g. a local moto server.");

    public static final ConfigOption<Boolean> AWS_TRUST_ALL_CERTIFICATES =
            ConfigOptions.key("aws.trust.all.certificates")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription("Trust all TLS certificates (local endpoints only).");

    public static final ConfigOption<String> AWS_CREDENTIALS_PROVIDER =
            ConfigOptions.key("aws.credentials.provider")
                    .stringType()
                    .defaultValue("AUTO")
                    .withDescription(
                            "AUTO (SDK default chain), BASIC, ENV_VAR or SYS_PROP.");

    public static final ConfigOption<String> AWS_ACCESS_KEY_ID =
            ConfigOptions.key("aws.credentials.provider.basic.accesskeyid")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Access key id for aws.credentials.provider = BASIC.");

    public static final ConfigOption<String> AWS_SECRET_ACCESS_KEY =
            ConfigOptions.key("aws.credentials.provider.basic.secretkey")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Secret key for aws.credentials.provider = BASIC.");

    public static final ConfigOption<InitialPosition> INIT_POSITION =
            ConfigOptions.key("source.init.position")
                    .enumType(InitialPosition.class)
                    .defaultValue(InitialPosition.LATEST)
                    .withDescription("Where to start reading the shards found at job start.");

    public static final ConfigOption<String> INIT_TIMESTAMP =
            ConfigOptions.key("source.init.timestamp")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Start time for AT_TIMESTAMP: a date in source.init.timestamp.format"
                                    + " or epoch seconds (e.g. 1732600000.5).");

    public static final ConfigOption<String> INIT_TIMESTAMP_FORMAT =
            ConfigOptions.key("source.init.timestamp.format")
                    .stringType()
                    .defaultValue("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
                    .withDescription("SimpleDateFormat pattern of source.init.timestamp.");

    public static final ConfigOption<Duration> SHARD_DISCOVERY_INTERVAL =
            ConfigOptions.key("source.shard.discovery.interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(10))
                    .withDescription("Interval between ListShards calls that find new shards.");

    public static final ConfigOption<Integer> GET_RECORDS_MAX =
            ConfigOptions.key("source.shard.get-records.max-record-count")
                    .intType()
                    .defaultValue(10000)
                    .withDescription("Limit of one GetRecords call (1..10000).");

    public static final ConfigOption<ReaderType> READER_TYPE =
            ConfigOptions.key("source.reader.type")
                    .enumType(ReaderType.class)
                    .defaultValue(ReaderType.POLLING)
                    .withDescription("Only POLLING is implemented.");

    // Polling: Kinesis allows 5 GetRecords calls/s per shard, shared by every consumer of the
    // stream (Firehose included). The official defaults (250 ms / 0) can use all of them; ours
    // leave room for four more consumers, and an idle shard is polled less and less often.
    public static final ConfigOption<Duration> EMPTY_RECORDS_FETCH_INTERVAL =
            ConfigOptions.key("source.reader.empty-records-fetch-interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(1))
                    .withDescription("Wait on a shard after a GetRecords that returned nothing;"
                            + " it doubles with every further empty answer, up to"
                            + " source.reader.empty-records-fetch-interval.max.");

    public static final ConfigOption<Duration> EMPTY_RECORDS_FETCH_INTERVAL_MAX =
            ConfigOptions.key("source.reader.empty-records-fetch-interval.max")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(3))
                    .withDescription("Longest wait on an idle shard (not an official option).");

    public static final ConfigOption<Duration> NONEMPTY_RECORDS_FETCH_INTERVAL =
            ConfigOptions.key("source.reader.nonempty-records-fetch-interval")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(1))
                    .withDescription(
                            "Wait on a shard after a GetRecords that returned records; never less"
                                    + " than 200 ms (Kinesis allows 5 GetRecords calls/s/shard).");

    // Transient errors (throttling, I/O, 5xx, KMS throttling) that are left after the SDK's own
    // retries: the shard waits, doubling from min to max, and the job keeps running. The names
    // follow the official connector's source.efo.describe.retry-strategy.* options.
    public static final ConfigOption<Duration> RETRY_DELAY_MIN =
            ConfigOptions.key("source.reader.retry-strategy.delay.min")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(1))
                    .withDescription("First wait on a shard after a transient error (not an official option).");

    public static final ConfigOption<Duration> RETRY_DELAY_MAX =
            ConfigOptions.key("source.reader.retry-strategy.delay.max")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(30))
                    .withDescription("Longest wait on a shard between retries (not an official option).");
}
