package io.vigia.flink.kinesis;

import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.kinesis.model.KmsThrottlingException;
import software.amazon.awssdk.services.kinesis.model.LimitExceededException;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;

/**
 * Which Kinesis errors are worth waiting out (after the SDK's own retries): throttling, the
 * service's 5xx answers (InternalFailure, ServiceUnavailable), KMS throttling, and I/O failures
 * on the way (connection reset, timeout). Anything else (access denied, a missing stream, a
 * disabled KMS key, a bug) still fails the job, which then restarts from its checkpoint.
 */
final class TransientErrors {
    private TransientErrors() {}

    /** Error codes of GetRecords/GetShardIterator/ListShards that a later call can succeed past. */
    private static final Set<String> CODES = Set.of(
            "ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException",
            "KMSThrottlingException", "InternalFailure", "InternalFailureException", "InternalServerError",
            "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException");

    static boolean isTransient(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof IOException || t instanceof UncheckedIOException) {
                return true;
            }
            if (t instanceof AwsServiceException) {
                AwsServiceException e = (AwsServiceException) t;
                String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
                return e.statusCode() >= 500 || e.isThrottlingException()
                        || (code != null && CODES.contains(code))
                        || e instanceof ProvisionedThroughputExceededException
                        || e instanceof LimitExceededException || e instanceof KmsThrottlingException;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }
}
