"""Athena: the workgroup (enforced result location and encryption, bytes-scanned limit per
query, engine v3, CloudWatch metrics) and every `athena/queries/*.sql` as a named query."""

from __future__ import annotations

from aws_cdk import aws_athena as athena, aws_s3 as s3
from constructs import Construct

from vigia_core.config import Pipeline

ENGINE = "Athena engine version 3"
MIB = 1024 * 1024


def build(scope: Construct, p: Pipeline, results: s3.IBucket, queries: dict[str, str]) -> athena.CfnWorkGroup:
    wg = athena.CfnWorkGroup(
        scope, "Workgroup",
        name=p.athena.workgroup,
        state="ENABLED",
        recursive_delete_option=True,  # `make destroy` removes the workgroup with its named queries
        work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
            bytes_scanned_cutoff_per_query=p.athena.bytes_scanned_cutoff_mib * MIB,
            enforce_work_group_configuration=True,
            publish_cloud_watch_metrics_enabled=True,
            engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ENGINE),
            result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                output_location=f"s3://{results.bucket_name}/",
                encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                    encryption_option="SSE_S3"))))
    for i, (name, sql) in enumerate(queries.items()):
        athena.CfnNamedQuery(scope, f"Query{i}", name=name, database=p.glue.database, query_string=sql,
                             work_group=wg.ref, description=f"athena/queries/{name}.sql")
    return wg
