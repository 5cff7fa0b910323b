package io.vigia.flink.kinesis;

import io.vigia.flink.kinesis.KinesisConnectorOptions.InitialPosition;

import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.auth.credentials.SystemPropertyCredentialsProvider;
import software.amazon.awssdk.http.SdkHttpConfigurationOption;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.KinesisClientBuilder;
import software.amazon.awssdk.utils.AttributeMap;

import java.io.Serializable;
import java.net.URI;
import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.time.Duration;
import java.util.Set;

import static io.vigia.flink.kinesis.KinesisConnectorOptions.*;

/** The validated settings of one 'kinesis' table; shipped to the enumerator and the readers. */
public final class KinesisSourceConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Kinesis allows 5 GetRecords calls per second per shard: never poll a shard faster. */
    static final long MIN_POLL_INTERVAL_MS = 200;

    private static final Set<String> CREDENTIAL_PROVIDERS =
            Set.of("AUTO", "BASIC", "ENV_VAR", "SYS_PROP");

    final String streamArn;
    final String region;
    final String endpoint;
    final boolean trustAllCertificates;
    final String credentialsProvider;
    final String accessKeyId;
    final String secretKey;
    final InitialPosition initPosition;
    /** Epoch millis for AT_TIMESTAMP, else null. */
    final Long initTimestampMillis;
    final long discoveryIntervalMs;
    final int maxRecordsPerCall;
    final long emptyPollIntervalMs;
    final long maxEmptyPollIntervalMs;
    final long nonEmptyPollIntervalMs;
    final long retryDelayMinMs;
    final long retryDelayMaxMs;

    private KinesisSourceConfig(ReadableConfig o) {
        streamArn = o.get(STREAM_ARN);
        String[] arn = streamArn.split(":", 6);
        if (arn.length != 6 || !"arn".equals(arn[0]) || !"kinesis".equals(arn[2])
                || !arn[5].startsWith("stream/")) {
            throw invalid(STREAM_ARN.key(), streamArn,
                    "expected arn:<partition>:kinesis:<region>:<account>:stream/<name>");
        }
        region = o.getOptional(AWS_REGION).orElse(arn[3]);
        endpoint = o.getOptional(AWS_ENDPOINT).orElse(null);
        if (endpoint != null && URI.create(endpoint).getScheme() == null) {
            throw invalid(AWS_ENDPOINT.key(), endpoint, "expected a URL such as http://127.0.0.1:4566");
        }
        trustAllCertificates = o.get(AWS_TRUST_ALL_CERTIFICATES);

        credentialsProvider = o.get(AWS_CREDENTIALS_PROVIDER).toUpperCase();
        if (!CREDENTIAL_PROVIDERS.contains(credentialsProvider)) {
            throw invalid(AWS_CREDENTIALS_PROVIDER.key(), credentialsProvider,
                    "supported: " + CREDENTIAL_PROVIDERS + " (AUTO = the SDK default chain)");
        }
        accessKeyId = o.getOptional(AWS_ACCESS_KEY_ID).orElse(null);
        secretKey = o.getOptional(AWS_SECRET_ACCESS_KEY).orElse(null);
        if ("BASIC".equals(credentialsProvider) && (accessKeyId == null || secretKey == null)) {
            throw new ValidationException(String.format(
                    "Option '%s' = 'BASIC' needs '%s' and '%s'.", AWS_CREDENTIALS_PROVIDER.key(),
                    AWS_ACCESS_KEY_ID.key(), AWS_SECRET_ACCESS_KEY.key()));
        }

        initPosition = o.get(INIT_POSITION);
        String ts = o.getOptional(INIT_TIMESTAMP).orElse(null);
        if (initPosition == InitialPosition.AT_TIMESTAMP) {
            if (ts == null || ts.isBlank()) {
                throw new ValidationException(String.format(
                        "Option '%s' = 'AT_TIMESTAMP' needs '%s'.", INIT_POSITION.key(),
                        INIT_TIMESTAMP.key()));
            }
            initTimestampMillis = parseTimestamp(ts, o.get(INIT_TIMESTAMP_FORMAT));
        } else {
            initTimestampMillis = null;
        }

        if (o.get(READER_TYPE) != ReaderType.POLLING) {
            throw invalid(READER_TYPE.key(), o.get(READER_TYPE).name(),
                    "only POLLING is implemented by this connector (see flink_app/connector/README.md)");
        }
        discoveryIntervalMs = positive(SHARD_DISCOVERY_INTERVAL.key(), o.get(SHARD_DISCOVERY_INTERVAL));
        maxRecordsPerCall = o.get(GET_RECORDS_MAX);
        if (maxRecordsPerCall < 1 || maxRecordsPerCall > 10000) {
            throw invalid(GET_RECORDS_MAX.key(), String.valueOf(maxRecordsPerCall),
                    "must be between 1 and 10000 (GetRecords limit)");
        }
        emptyPollIntervalMs = Math.max(MIN_POLL_INTERVAL_MS, o.get(EMPTY_RECORDS_FETCH_INTERVAL).toMillis());
        // a maximum below its minimum is raised to it, as the intervals are raised to the 200 ms floor
        maxEmptyPollIntervalMs = Math.max(emptyPollIntervalMs, o.get(EMPTY_RECORDS_FETCH_INTERVAL_MAX).toMillis());
        nonEmptyPollIntervalMs = Math.max(MIN_POLL_INTERVAL_MS, o.get(NONEMPTY_RECORDS_FETCH_INTERVAL).toMillis());
        retryDelayMinMs = Math.max(MIN_POLL_INTERVAL_MS, o.get(RETRY_DELAY_MIN).toMillis());
        retryDelayMaxMs = Math.max(retryDelayMinMs, o.get(RETRY_DELAY_MAX).toMillis());
    }

    /** Validates the options and fails with a message that names the bad option. */
    public static KinesisSourceConfig from(ReadableConfig options) {
        return new KinesisSourceConfig(options);
    }

    /** A synchronous SDK v2 client (URL-connection HTTP); honours -Daws.cborEnabled=false. */
    public KinesisClient createClient() {
        AttributeMap http = AttributeMap.builder()
                .put(SdkHttpConfigurationOption.TRUST_ALL_CERTIFICATES, trustAllCertificates)
                .build();
        KinesisClientBuilder b = KinesisClient.builder()
                .httpClient(UrlConnectionHttpClient.builder().buildWithDefaults(http))
                .region(Region.of(region))
                .credentialsProvider(credentials());
        if (endpoint != null) {
            b.endpointOverride(URI.create(endpoint));
        }
        return b.build();
    }

    private AwsCredentialsProvider credentials() {
        switch (credentialsProvider) {
            case "BASIC":
                return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secretKey));
            case "ENV_VAR":
                return EnvironmentVariableCredentialsProvider.create();
            case "SYS_PROP":
                return SystemPropertyCredentialsProvider.create();
            default:
                return DefaultCredentialsProvider.builder().build();
        }
    }

    /** Same rule as the official connector: the date format first, else epoch seconds. */
    private static long parseTimestamp(String value, String format) {
        try {
            return new SimpleDateFormat(format).parse(value).getTime();
        } catch (ParseException notADate) {
            try {
                return (long) (Double.parseDouble(value) * 1000);
            } catch (NumberFormatException e) {
                throw invalid(INIT_TIMESTAMP.key(), value,
                        "expected format '" + format + "' or epoch seconds");
            }
        } catch (IllegalArgumentException badPattern) {
            throw invalid(INIT_TIMESTAMP_FORMAT.key(), format, badPattern.getMessage());
        }
    }

    private static long positive(String key, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw invalid(key, d.toString(), "must be > 0");
        }
        return d.toMillis();
    }

    private static ValidationException invalid(String key, String value, String why) {
        return new ValidationException(
                String.format("Invalid value '%s' for option '%s' of the 'kinesis' connector: %s.",
                        value, key, why));
    }
}
