"""S3 buckets (raw, gold, Athena results, artifacts) plus the bucket receiving their access logs.

Every bucket: public access blocked, TLS-only policy, SSE-S3 encryption, lifecycle rules,
server access logs. SSE-S3 rather than KMS: Firehose, Glue, crawlers and Athena then need no
key grants and no per-request KMS charges, and cdk-nag accepts it (see docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, aws_s3 as s3
from constructs import Construct

from infra.components import lifetime
from infra.components.iam import suppress
from infra.naming import bucket_suffix
from vigia_core.config import Pipeline


@dataclass(frozen=True)
class Buckets:
    raw: s3.Bucket
    gold: s3.Bucket
    athena_results: s3.Bucket
    artifacts: s3.Bucket
    access_logs: s3.Bucket


def build(scope: Construct, p: Pipeline) -> Buckets:
    keep = p.deploy.retain_data
    life = p.deploy.lifecycle
    abort_uploads = s3.LifecycleRule(id="abort-incomplete-uploads",
                                     abort_incomplete_multipart_upload_after=Duration.days(7))

    def bucket(cid: str, name: str | None, rules: list[s3.LifecycleRule], logs: s3.Bucket | None) -> s3.Bucket:
        return s3.Bucket(
            scope, cid,
            bucket_name=name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[abort_uploads, *rules],
            server_access_logs_bucket=logs,
            server_access_logs_prefix=f"{cid.lower()}/" if logs else None,
            removal_policy=lifetime.removal(p),
            auto_delete_objects=not keep,
        )

    logs = bucket("AccessLogs", None, [s3.LifecycleRule(id="expire", expiration=Duration.days(life.access_logs_expire_days))], None)
    suppress(logs, "AwsSolutions-S1", "This is the access-log bucket itself; logging it into itself would loop.")
    suffix = bucket_suffix(p)
    raw_rules = [s3.LifecycleRule(
        id="raw-to-ia-then-expire",
        transitions=[s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                   transition_after=Duration.days(life.raw_infrequent_access_days))],
        expiration=Duration.days(life.raw_expire_days))]
    results_rules = [s3.LifecycleRule(id="expire-results", expiration=Duration.days(life.athena_results_expire_days))]
    return Buckets(
        raw=bucket("Raw", p.buckets.raw + suffix, raw_rules, logs),
        gold=bucket("Gold", p.buckets.gold + suffix, [], logs),
        athena_results=bucket("AthenaResults", p.buckets.athena_results + suffix, results_rules, logs),
        artifacts=bucket("Artifacts", p.buckets.artifacts + suffix, [], logs),
        access_logs=logs,
    )
