"""Glue: the database, the raw table (declared from the contract), the raw -> gold ETL job
(Glue 5.0, bookmarks on), the raw and gold crawlers, and a workflow whose trigger runs the ETL on
a schedule. One role for the job and one per crawler, each limited to its paths.

The ETL registers the gold partitions it writes (BatchCreatePartition), so the gold crawler runs
only for schema changes, daily; the raw crawler only adds raw partitions (an incremental crawl,
which CreateCrawler accepts only with LOG/LOG), inheriting the declared table's schema.
Crawlers create partition indexes by default, so their roles may (AWS Glue developer guide,
"Working with partition indexes": glue:CreatePartitionIndex, glue:GetPartitionIndexes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

from aws_cdk import Aws, aws_glue as glue, aws_iam as iam, aws_kms as kms, aws_s3 as s3, aws_s3_assets as assets
from constructs import Construct

from firehose import definition as firehose_definition
from firehose.definition import static_prefix
from infra.artifacts import Artifacts
from infra.components import definition
from infra.components.iam import allow, log_group_arn, objects_under, suppress
from vigia_core.config import Crawler, Pipeline

GLUE_VERSION = "5.0"
TEMP_PREFIX = "glue-temp/"
GLUE_LOGS = "/aws-glue/*"
# What the shared vigia modules import and Glue 5.0 lacks; Glue pip-installs them at each start.
GLUE_REQUIREMENTS = ("pydantic", "jsonschema", "PyYAML")
CRAWLER_CATALOG_ACTIONS = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                           "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions",
                           "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:UpdatePartition",
                           "glue:BatchUpdatePartition", "glue:CreatePartitionIndex", "glue:GetPartitionIndexes"]
# The ETL creates a gold table no crawler made yet and registers each partition it writes, once
# (idempotent BatchCreatePartition).
ETL_CATALOG_ACTIONS = ["glue:GetTable", "glue:CreateTable", "glue:BatchCreatePartition"]


def python_modules(requirements=GLUE_REQUIREMENTS) -> list[str]:
    """`--additional-python-modules`: each requirement and everything it needs, pinned (`==`) to
    the version installed here, the one the tests ran; unpinned, each job start would resolve
    anew from the index (billed start-up time, results that change between runs)."""
    pins: dict[str, str] = {}
    todo = list(requirements)
    while todo:
        dist = metadata.distribution(todo.pop())
        name = dist.metadata["Name"]
        if name.lower() in pins:
            continue
        pins[name.lower()] = f"{name}=={dist.version}"
        for req in dist.requires or []:
            if "extra ==" not in req.partition(";")[2]:
                todo.append(re.match(r"[A-Za-z0-9_.-]+", req).group(0))
    return sorted(pins.values(), key=str.lower)


@dataclass(frozen=True)
class Batch:
    job: glue.CfnJob
    crawlers: dict[str, glue.CfnCrawler]
    workflow: glue.CfnWorkflow
    roles: dict[str, iam.Role]  # "etl" and each crawler's name


def catalog_arns(database: str, tables: list[str] | None = None) -> list[str]:
    """The catalog, the database and its tables (all, or the ones named): what a catalog call on a
    table is authorised against."""
    base = f"arn:aws:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return [f"{base}:catalog", f"{base}:database/{database}",
            *([f"{base}:table/{database}/{t}" for t in tables] if tables else [f"{base}:table/{database}/*"])]


def crawler_paths(p: Pipeline, c: Crawler) -> list[str]:
    """Key prefixes a crawler reads. The gold crawler gets one target per gold table folder so
    that each folder becomes its own table (one target on the bucket root could merge them)."""
    if c.bucket == "gold":
        return [f"{c.path}{t}/" for t in p.glue.tables.model_dump().values()]
    return [c.path]


def build(scope: Construct, p: Pipeline, art: Artifacts, raw: s3.IBucket, gold: s3.IBucket,
          artifacts: s3.IBucket, key: kms.IKey) -> Batch:
    pipeline_uri = definition.build(scope, p, artifacts)
    g = p.glue
    database = glue.CfnDatabase(scope, "GlueDatabase", catalog_id=Aws.ACCOUNT_ID,
                                database_input=glue.CfnDatabase.DatabaseInputProperty(name=g.database))
    raw_table = glue.CfnTable(scope, "RawTable", catalog_id=Aws.ACCOUNT_ID, database_name=g.database,
                              table_input=glue.CfnTable.TableInputProperty(name=firehose_definition.raw_table_name(p)))
    raw_table.add_property_override("TableInput", firehose_definition.raw_table(p, raw.bucket_name))
    raw_table.node.add_dependency(database)
    security = glue.CfnSecurityConfiguration(
        scope, "GlueSecurity", name=f"{p.project}-glue",
        encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
            s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(s3_encryption_mode="SSE-S3")],
            cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn),
            job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.key_arn)))

    roles: dict[str, iam.Role] = {}
    script = assets.Asset(scope, "GlueScript", path=str(art.glue_script))
    libs = assets.Asset(scope, "GlueLibs", path=str(art.glue_libs))
    jar = assets.Asset(scope, "GlueJar", path=str(art.glue_jar))  # the record checks (glue/udf)
    etl_role = roles["etl"] = _glue_role(scope, "GlueEtlRole", "Glue ETL: read raw, write gold, update the catalog", key)
    allow(etl_role, ["s3:GetObject"], [script.bucket.arn_for_objects(script.s3_object_key),
                                       libs.bucket.arn_for_objects(libs.s3_object_key),
                                       jar.bucket.arn_for_objects(jar.s3_object_key),
                                       artifacts.arn_for_objects(definition.KEY)])
    raw_prefix = static_prefix(p.firehose.prefix)  # what Firehose delivers; never rejects/, late/, errors/
    allow(etl_role, ["s3:ListBucket"], [raw.bucket_arn])
    allow(etl_role, ["s3:GetObject"], [raw.arn_for_objects(f"{raw_prefix}*")])
    allow(etl_role, ["s3:ListBucket"], [gold.bucket_arn])
    allow(etl_role, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [gold.arn_for_objects("*")])
    allow(etl_role, ["s3:ListBucket"], [artifacts.bucket_arn], StringLike={"s3:prefix": [f"{TEMP_PREFIX}*"]})
    allow(etl_role, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [artifacts.arn_for_objects(f"{TEMP_PREFIX}*")])
    allow(etl_role, ETL_CATALOG_ACTIONS, catalog_arns(g.database, list(g.tables.model_dump().values())))
    # --enable-metrics: the job publishes its metrics itself; PutMetricData has no resource ARN.
    allow(etl_role, ["cloudwatch:PutMetricData"], ["*"], StringEquals={"cloudwatch:namespace": "Glue"})
    suppress(etl_role, "AwsSolutions-IAM5",
             "The ETL reads run-time object names under raw/, rewrites gold partitions and uses a temp prefix; "
             "PutMetricData is limited by namespace condition.",
             applies_to=[objects_under(raw, raw_prefix), objects_under(gold, ""),
                         objects_under(artifacts, TEMP_PREFIX), "Resource::*",
                         f"Resource::arn:aws:logs:<AWS::Region>:<AWS::AccountId>:log-group:{GLUE_LOGS}"])
    d = p.deploy.glue
    job = glue.CfnJob(
        scope, "EtlJob",
        name=g.etl_job,
        role=etl_role.role_arn,
        command=glue.CfnJob.JobCommandProperty(name="glueetl", python_version="3",
                                               script_location=script.s3_object_url),
        glue_version=GLUE_VERSION,
        worker_type=d.worker_type,
        number_of_workers=d.workers,
        timeout=d.timeout_min,
        max_retries=0,
        execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
        security_configuration=security.ref,
        default_arguments={
            "--job-bookmark-option": "job-bookmark-enable",
            "--extra-py-files": libs.s3_object_url,
            "--extra-jars": jar.s3_object_url,  # glue.validation calls its Java UDF
            "--additional-python-modules": ",".join(python_modules()),
            "--TempDir": f"s3://{artifacts.bucket_name}/{TEMP_PREFIX}",
            "--enable-metrics": "true",
            "--enable-observability-metrics": "true",
            "--enable-continuous-cloudwatch-log": "true",
            "--pipeline_uri": pipeline_uri,  # the definition with the deployed bucket names
        },
    )

    crawlers: dict[str, glue.CfnCrawler] = {}
    for i, c in enumerate(g.crawlers):
        bucket = raw if c.bucket == "raw" else gold
        role = roles[c.name] = _glue_role(scope, f"CrawlerRole{i}", f"Glue crawler {c.name}: read {c.bucket}, update tables", key)
        paths = crawler_paths(p, c)
        allow(role, ["s3:ListBucket"], [bucket.bucket_arn])
        allow(role, ["s3:GetObject"], [bucket.arn_for_objects(f"{path}*") for path in paths])
        allow(role, [*CRAWLER_CATALOG_ACTIONS,
                     *(["glue:DeleteTable", "glue:BatchDeletePartition"] if c.schema_change.delete == "DELETE_FROM_DATABASE" else [])],
              catalog_arns(g.database))
        suppress(role, "AwsSolutions-IAM5",
                 "A crawler reads every object under its paths and creates tables in its own database.",
                 applies_to=[*[objects_under(bucket, path) for path in paths],
                             f"Resource::arn:aws:glue:<AWS::Region>:<AWS::AccountId>:table/{g.database}/*",
                             f"Resource::arn:aws:logs:<AWS::Region>:<AWS::AccountId>:log-group:{GLUE_LOGS}"])
        crawlers[c.name] = glue.CfnCrawler(
            scope, f"Crawler{i}",
            name=c.name,
            role=role.role_arn,
            database_name=g.database,
            targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
                glue.CfnCrawler.S3TargetProperty(path=f"s3://{bucket.bucket_name}/{path}") for path in paths]),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior=c.schema_change.update, delete_behavior=c.schema_change.delete),
            recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(recrawl_behavior=c.recrawl),
            crawler_security_configuration=security.ref,
            # Raw partitions copy the declared table's schema and SerDe; gold's schema is the crawl's.
            configuration=firehose_definition.CRAWLER_INHERIT_FROM_TABLE if c.bucket == "raw" else None,
            schedule=glue.CfnCrawler.ScheduleProperty(
                schedule_expression=d.raw_crawler_schedule if c.bucket == "raw" else d.gold_crawler_schedule),
        )
        if c.bucket == "raw":
            crawlers[c.name].node.add_dependency(raw_table)

    workflow = glue.CfnWorkflow(scope, "BatchWorkflow", name=f"{p.project}-raw-to-gold",
                                description="Scheduled ETL; it registers the gold partitions it writes")
    glue.CfnTrigger(scope, "EtlSchedule", name=f"{p.project}-etl-schedule", type="SCHEDULED",
                    schedule=d.schedule, start_on_creation=True, workflow_name=workflow.ref,
                    actions=[glue.CfnTrigger.ActionProperty(job_name=job.ref)])
    return Batch(job=job, crawlers=crawlers, workflow=workflow, roles=roles)


def _glue_role(scope: Construct, cid: str, description: str, key: kms.IKey) -> iam.Role:
    role = iam.Role(scope, cid, assumed_by=iam.ServicePrincipal("glue.amazonaws.com"), description=description)
    # Logs under /aws-glue/ (names depend on the security configuration), encrypted with the data key.
    allow(role, ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
          [log_group_arn(GLUE_LOGS)])
    allow(role, ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], [key.key_arn])
    return role
