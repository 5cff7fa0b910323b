"""The Managed Service for Apache Flink application (runtime FLINK-2_2) running the rules job.

Code: the packaged zip as an S3 asset. Property groups: `kinesis.analytics.flink.run.options`
(from build/flink/run-options.json, written by `make package-flink`) and `vigia.job` with the
deployed resource names the job needs. The application is started once after creation by a
custom resource, so `make deploy` ends with the job running.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import (Aws, aws_iam as iam, aws_kinesis as kinesis, aws_kinesisanalyticsv2 as kda,
                     aws_logs as logs, aws_s3 as s3, aws_s3_assets as assets, aws_sns as sns, aws_sqs as sqs,
                     custom_resources as cr)
from constructs import Construct

from infra.artifacts import RUN_OPTIONS_GROUP, Artifacts
from infra.components import lifetime
from infra.components.iam import allow, log_group_arn, objects_under, suppress
from vigia_core.config import Pipeline

RUNTIME = "FLINK-2_2"
JOB_GROUP = "vigia.job"
LOG_STREAM = "application"


@dataclass(frozen=True)
class FlinkApp:
    application: kda.CfnApplication
    role: iam.Role
    name: str


def job_properties(p: Pipeline, stream: kinesis.IStream, topic: sns.ITopic, dlq: sqs.IQueue,
                   raw: s3.IBucket) -> dict[str, str]:
    """The `vigia.job` property group (keys of flink_app.properties.JobSettings, which rejects
    unknown ones): what the job cannot read from its bundled pipeline.yaml."""
    return {
        "aws.region": Aws.REGION,
        "stream.arn": stream.stream_arn,
        "alert.topic.arn": topic.topic_arn,
        "alert.dlq.url": dlq.queue_url,
        "late.bucket": raw.bucket_name,  # the prefix comes from the bundled pipeline.yaml
        "source.init.position": p.flink.start_position,
    }


def build(scope: Construct, p: Pipeline, art: Artifacts, stream: kinesis.IStream, topic: sns.ITopic,
          dlq: sqs.IQueue, raw: s3.IBucket) -> FlinkApp:
    name = p.flink.application
    code = assets.Asset(scope, "FlinkCode", path=str(art.flink_zip))
    log_group_name = f"/aws/kinesis-analytics/{name}"
    log_group = lifetime.log_group(scope, "FlinkLogs", log_group_name, p)
    log_stream = logs.LogStream(scope, "FlinkLogStream", log_group=log_group, log_stream_name=LOG_STREAM,
                               removal_policy=lifetime.removal(p))
    role = iam.Role(scope, "FlinkRole", assumed_by=iam.ServicePrincipal("kinesisanalytics.amazonaws.com"),
                    description="Managed Flink rules job: read the stream, publish alerts, store late events")
    allow(role, ["s3:GetObject", "s3:GetObjectVersion"], [code.bucket.arn_for_objects(code.s3_object_key)])
    allow(role, ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                 "kinesis:GetShardIterator", "kinesis:ListShards"], [stream.stream_arn])
    allow(role, ["sns:Publish"], [topic.topic_arn])
    allow(role, ["kms:GenerateDataKey", "kms:Decrypt"], [topic.master_key.key_arn])
    allow(role, ["sqs:SendMessage", "sqs:GetQueueUrl"], [dlq.queue_arn])
    allow(role, ["s3:PutObject"], [raw.arn_for_objects(f"{p.flink.late_events_prefix}*")])
    allow(role, ["logs:DescribeLogGroups"], [log_group_arn("*")])
    allow(role, ["logs:DescribeLogStreams"], [log_group.log_group_arn])
    allow(role, ["logs:PutLogEvents"], [f"{log_group_arn(log_group_name)}:log-stream:{LOG_STREAM}"])
    suppress(role, "AwsSolutions-IAM5",
             "Late-event objects are created at run time under the late-events prefix; DescribeLogGroups "
             "cannot be limited to one log group (the service calls it to check its logging option).",
             applies_to=[objects_under(raw, p.flink.late_events_prefix),
                         "Resource::arn:aws:logs:<AWS::Region>:<AWS::AccountId>:log-group:*"])

    f = p.flink
    d = p.deploy.flink
    app = kda.CfnApplication(
        scope, "FlinkApplication",
        application_name=name,
        runtime_environment=RUNTIME,
        service_execution_role=role.role_arn,
        application_configuration=kda.CfnApplication.ApplicationConfigurationProperty(
            application_code_configuration=kda.CfnApplication.ApplicationCodeConfigurationProperty(
                code_content_type="ZIPFILE",
                code_content=kda.CfnApplication.CodeContentProperty(
                    s3_content_location=kda.CfnApplication.S3ContentLocationProperty(
                        bucket_arn=code.bucket.bucket_arn, file_key=code.s3_object_key))),
            environment_properties=kda.CfnApplication.EnvironmentPropertiesProperty(property_groups=[
                kda.CfnApplication.PropertyGroupProperty(property_group_id=RUN_OPTIONS_GROUP,
                                                         property_map=art.run_options()),
                kda.CfnApplication.PropertyGroupProperty(property_group_id=JOB_GROUP,
                                                         property_map=job_properties(p, stream, topic, dlq, raw)),
            ]),
            # Checkpointing and parallelism live here, in the service's configuration, and nowhere in
            # the job (which reads the same definition only when it runs locally). Autoscaling has no
            # maximum, so vigia_core.config allows it only where the shard count cannot be exceeded.
            flink_application_configuration=kda.CfnApplication.FlinkApplicationConfigurationProperty(
                checkpoint_configuration=kda.CfnApplication.CheckpointConfigurationProperty(
                    configuration_type="CUSTOM", checkpointing_enabled=True,
                    checkpoint_interval=f.checkpoint_interval_s * 1000,
                    min_pause_between_checkpoints=f.min_pause_between_checkpoints_s * 1000),
                monitoring_configuration=kda.CfnApplication.MonitoringConfigurationProperty(
                    configuration_type="CUSTOM", log_level=d.log_level, metrics_level=d.metrics_level),
                parallelism_configuration=kda.CfnApplication.ParallelismConfigurationProperty(
                    configuration_type="CUSTOM", parallelism=f.parallelism,
                    parallelism_per_kpu=d.parallelism_per_kpu, auto_scaling_enabled=d.autoscaling)),
            application_snapshot_configuration=kda.CfnApplication.ApplicationSnapshotConfigurationProperty(
                snapshots_enabled=True),
        ),
    )
    # The service checks the role's access to the code when the application is created.
    app.node.add_dependency(role.node.find_child("DefaultPolicy"))
    logging = kda.CfnApplicationCloudWatchLoggingOption(
        scope, "FlinkLogging", application_name=app.ref,
        cloud_watch_logging_option=kda.CfnApplicationCloudWatchLoggingOption.CloudWatchLoggingOptionProperty(
            log_stream_arn=f"{log_group_arn(log_group_name)}:log-stream:{LOG_STREAM}"))
    logging.node.add_dependency(log_stream)
    _start_after_create(scope, app, name).node.add_dependency(logging)
    return FlinkApp(application=app, role=role, name=name)


def _start_after_create(scope: Construct, app: kda.CfnApplication, name: str) -> cr.AwsCustomResource:
    """CloudFormation creates the application stopped; start it once so the job runs after deploy."""
    arn = f"arn:aws:kinesisanalytics:{Aws.REGION}:{Aws.ACCOUNT_ID}:application/{name}"
    return cr.AwsCustomResource(
        scope, "FlinkStart",
        on_create=cr.AwsSdkCall(service="KinesisAnalyticsV2", action="startApplication",
                                parameters={"ApplicationName": app.ref},
                                physical_resource_id=cr.PhysicalResourceId.of(f"{name}-start")),
        policy=cr.AwsCustomResourcePolicy.from_statements([
            iam.PolicyStatement(actions=["kinesisanalytics:StartApplication"], resources=[arn])]),
        install_latest_aws_sdk=False,  # deploy needs no download; the runtime's SDK has the call
    )
