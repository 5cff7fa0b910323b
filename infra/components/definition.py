"""The deployed copy of the pipeline definition: pipeline.yaml's content with the deployed bucket
names, written to the artifacts bucket at deploy time (the suffix holds the account and region,
known only then). The Glue job reads it through `--pipeline_uri`; the Lambda and the Flink job get
the names from VIGIA_BUCKET_SUFFIX and their property group instead.

Written as JSON (valid YAML) by one SDK call in a custom resource that may put only this key.
"""

from __future__ import annotations

from aws_cdk import Stack, aws_iam as iam, aws_s3 as s3, custom_resources as cr
from constructs import Construct

from infra.naming import bucket_suffix
from vigia_core.config import Pipeline

KEY = "deployed/pipeline.yaml"


def deployed(p: Pipeline) -> dict:
    data = p.model_dump(mode="json")
    data["buckets"] = {k: v + bucket_suffix(p) for k, v in data["buckets"].items()}
    return data


def build(scope: Construct, p: Pipeline, artifacts: s3.IBucket) -> str:
    """Upload the deployed definition (on create and on every update); returns its s3:// URI."""
    put = cr.AwsSdkCall(service="S3", action="putObject",
                        parameters={"Bucket": artifacts.bucket_name, "Key": KEY,
                                    "Body": Stack.of(scope).to_json_string(deployed(p))},
                        physical_resource_id=cr.PhysicalResourceId.of(KEY))
    cr.AwsCustomResource(
        scope, "DeployedDefinition", on_create=put, on_update=put,
        policy=cr.AwsCustomResourcePolicy.from_statements([
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[artifacts.arn_for_objects(KEY)])]),
        install_latest_aws_sdk=False)
    return f"s3://{artifacts.bucket_name}/{KEY}"
