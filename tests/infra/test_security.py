"""Least privilege, encryption everywhere, cdk-nag and cfn-lint on the synthesized template."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.integration

# Actions AWS offers no resource-level permission for; only these may use Resource "*".
NO_RESOURCE_LEVEL = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData"}


def _as_list(x):
    return x if isinstance(x, list) else [x]


def _refs(obj) -> set[str]:
    """Logical IDs referenced (Ref / Fn::GetAtt) anywhere inside `obj`."""
    if isinstance(obj, dict):
        if "Ref" in obj and not str(obj["Ref"]).startswith("AWS::"):
            return {obj["Ref"]}
        if "Fn::GetAtt" in obj:
            return {obj["Fn::GetAtt"][0]}
        return set().union(*(_refs(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_refs(v) for v in obj)) if obj else set()
    return set()


def _all_statements(synth):
    for pid, pol in synth.resources("AWS::IAM::Policy").items():
        for st in pol["Properties"]["PolicyDocument"]["Statement"]:
            yield pid, st
    for rid, role in synth.resources("AWS::IAM::Role").items():
        for pol in role["Properties"].get("Policies", []):
            for st in pol["PolicyDocument"]["Statement"]:
                yield rid, st


def test_no_wildcard_action_and_no_star_resource_on_data(synth):
    for where, st in _all_statements(synth):
        if st["Effect"] != "Allow":
            continue
        actions = _as_list(st["Action"])
        assert not [a for a in actions if a == "*" or a.endswith(":*")], (where, st)
        if "*" in _as_list(st.get("Resource", [])):
            assert set(actions) <= NO_RESOURCE_LEVEL, (where, st)


def _role_id(synth, description_start: str) -> str:
    ids = [k for k, v in synth.resources("AWS::IAM::Role").items()
           if v["Properties"].get("Description", "").startswith(description_start)]
    assert len(ids) == 1, (description_start, ids)
    return ids[0]


def _ids(synth):
    p = synth.pipeline
    bucket = {k: synth.logical_id("AWS::S3::Bucket", BucketName={"Fn::Join": ["", [
        name + "-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]})
        for k, name in p.buckets.model_dump().items()}
    return {
        "stream": synth.logical_id("AWS::Kinesis::Stream", Name=p.stream.name),
        "alerts": synth.logical_id("AWS::SNS::Topic", TopicName=p.alerts.topic),
        "dlq": synth.logical_id("AWS::SQS::Queue", QueueName=p.alerts.dead_letter_queue),
        **bucket,
    }


def _resource_text(statements, actions_prefix: str) -> list[str]:
    return [json.dumps(st["Resource"]) for st in statements
            if any(a.startswith(actions_prefix) for a in _as_list(st["Action"]))]


def test_each_role_reaches_only_its_own_resources(synth):
    ids = _ids(synth)
    key_ids = set(synth.resources("AWS::KMS::Key"))
    log_ids = set(synth.resources("AWS::Logs::LogGroup"))
    allowed = {  # role description prefix -> what its policy may reference
        "Producer Lambda": {ids["stream"], ids["raw"], ids["artifacts"]} | log_ids,
        "Managed Flink": {ids["stream"], ids["alerts"], ids["dlq"], ids["raw"]} | key_ids | log_ids,
        "Firehose": {ids["stream"], ids["raw"]},
        "Glue ETL": {ids["raw"], ids["gold"], ids["artifacts"]} | key_ids,
    }
    for c in synth.pipeline.glue.crawlers:
        allowed[f"Glue crawler {c.name}"] = {ids[c.bucket]} | key_ids
    for desc, ok in allowed.items():
        refs = _refs(synth.role_statements(_role_id(synth, desc)))
        assert refs and refs <= ok, (desc, refs - ok)
    # Gold is written only by the ETL; the stream is written only by the producer.
    for desc in allowed:
        refs = _refs(synth.role_statements(_role_id(synth, desc)))
        if ids["gold"] in refs:
            assert desc == "Glue ETL" or desc.startswith("Glue crawler"), desc
        writes = _resource_text(synth.role_statements(_role_id(synth, desc)), "kinesis:Put")
        assert (desc == "Producer Lambda") == bool(writes), desc


def test_object_access_is_limited_to_each_components_prefixes(synth):
    p = synth.pipeline
    ids = _ids(synth)

    def object_prefixes(desc: str, bucket: str) -> set[str]:
        out = set()
        for st in synth.role_statements(_role_id(synth, desc)):
            for res in _as_list(st["Resource"]):
                parts = res.get("Fn::Join", ["", []])[1] if isinstance(res, dict) else []
                if parts and parts[0] == {"Fn::GetAtt": [ids[bucket], "Arn"]}:
                    out.add(parts[1])
        return out

    assert object_prefixes("Producer Lambda", "raw") == {f"/{p.producer.rejects_prefix}*"}
    assert object_prefixes("Producer Lambda", "artifacts") == {f"/{p.producer.cursor_prefix}*"}
    assert object_prefixes("Managed Flink", "raw") == {f"/{p.flink.late_events_prefix}*"}
    delivered = re.match(r"[^!]*", p.firehose.prefix).group()         # e.g. raw/src=
    errors = re.match(r"[^!]*", p.firehose.error_output_prefix).group()  # e.g. errors/
    assert object_prefixes("Firehose", "raw") == {f"/{delivered}*", f"/{errors}*"}
    assert object_prefixes("Glue ETL", "raw") == {f"/{delivered}*"}  # never rejects/, late/ or errors/
    assert len({delivered, errors, p.producer.rejects_prefix, p.flink.late_events_prefix}) == 4


def test_no_role_reads_secrets(synth):
    """No source needs an API key, so nothing is granted Secrets Manager access."""
    assert not [st for _, st in _all_statements(synth)
                if any(a.startswith("secretsmanager:") for a in _as_list(st["Action"]))]


def test_crawler_roles_may_create_partition_indexes_and_the_etl_only_registers_gold_partitions(synth):
    """Crawlers create partition indexes by default (AWS Glue developer guide, "Working with
    partition indexes", https://docs.aws.amazon.com/glue/latest/dg/partition-indexes.html): without
    glue:CreatePartitionIndex and glue:GetPartitionIndexes the crawl fails. The ETL registers the
    partitions it writes with BatchCreatePartition, and creates a gold table that no crawler made yet
    (CreateTable) ("Creating tables, updating the schema, and adding new partitions in the Data
    Catalog from AWS Glue ETL jobs"), on the gold tables only."""
    p = synth.pipeline
    for c in p.glue.crawlers:
        actions = {a for st in synth.role_statements(_role_id(synth, f"Glue crawler {c.name}"))
                   for a in _as_list(st["Action"])}
        assert {"glue:CreatePartitionIndex", "glue:GetPartitionIndexes", "glue:BatchCreatePartition"} <= actions
    etl = [st for st in synth.role_statements(_role_id(synth, "Glue ETL"))
           if any(a.startswith("glue:") for a in _as_list(st["Action"]))]
    assert [sorted(_as_list(st["Action"])) for st in etl] == [["glue:BatchCreatePartition", "glue:CreateTable",
                                                               "glue:GetTable"]]
    tables = [json.dumps(r) for r in _as_list(etl[0]["Resource"]) if ":table/" in json.dumps(r)]
    assert sorted(t.split(":table/")[1].split('"')[0] for t in tables) == sorted(
        f"{p.glue.database}/{t}" for t in p.glue.tables.model_dump().values())


def test_encryption_everywhere(synth):
    for b in synth.resources("AWS::S3::Bucket").values():
        props = b["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert props["LifecycleConfiguration"]["Rules"]
    for t in synth.resources("AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in t["Properties"]
    for q in synth.resources("AWS::SQS::Queue").values():
        assert q["Properties"]["SqsManagedSseEnabled"] is True
    for k in synth.resources("AWS::KMS::Key").values():
        assert k["Properties"]["EnableKeyRotation"] is True
    assert synth.one("AWS::Kinesis::Stream")["StreamEncryption"]["EncryptionType"] == "KMS"
    sec = synth.one("AWS::Glue::SecurityConfiguration")["EncryptionConfiguration"]
    assert sec["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert sec["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


def test_every_bucket_topic_and_queue_refuses_plain_http(synth):
    def denies_insecure(policy_doc) -> bool:
        return any(st["Effect"] == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                   for st in policy_doc["Statement"])

    secured = set()
    for cfn_type, target_key in (("AWS::S3::BucketPolicy", "Bucket"), ("AWS::SNS::TopicPolicy", "Topics"),
                                 ("AWS::SQS::QueuePolicy", "Queues")):
        for pol in synth.resources(cfn_type).values():
            if denies_insecure(pol["Properties"]["PolicyDocument"]):
                secured |= _refs(pol["Properties"][target_key])
    for cfn_type in ("AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::SQS::Queue"):
        assert set(synth.resources(cfn_type)) <= secured, cfn_type


def test_cdk_nag_acknowledgements_all_carry_a_reason(synth):
    """The fixture's synth raised on any unacknowledged AwsSolutions finding; here: each
    acknowledgement written to the template metadata has a real reason."""
    seen = 0
    for r in synth.template["Resources"].values():
        for rule in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            seen += 1
            assert rule["id"].startswith("AwsSolutions-") and len(rule["reason"]) >= 40, rule
    assert seen > 0


def test_cdk_nag_is_active(tmp_path):
    """A deliberately non-compliant bucket makes the same app setup fail its synth."""
    from aws_cdk import App, Stack, Validations, aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Bad"), "PlainBucket")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-S10" in report  # no TLS-only policy


def test_managed_policies_are_acknowledged_only_for_cdks_own_function(synth, tmp_path):
    """AwsSolutions-IAM4 is acknowledged on CDK's AwsCustomResource function alone: the same stack
    with an AWS managed policy on one of our roles fails its synth."""
    from aws_cdk import aws_iam as iam

    from infra.app import build, nag_violations
    from tests.infra.conftest import placeholder_artifacts

    app, stack = build(synth.pipeline, placeholder_artifacts(tmp_path / "artifacts"), tmp_path / "out")
    stack.producer.role.add_managed_policy(
        iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    found = nag_violations(tmp_path / "out")
    assert found and all("AwsSolutions-IAM4" in v and "ProducerRole" in v for v in found), found
    acknowledged = [k for k, r in synth.template["Resources"].items()
                    if any(x["id"].startswith("AwsSolutions-IAM4")
                           for x in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []))]
    assert acknowledged and all(k.startswith("AWS679f53fac002430cb0da5b7982bd2287") for k in acknowledged)


def test_cfn_lint_reports_no_errors(synth):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(synth.template_path, ManualArgs(regions=[synth.pipeline.region]))
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []


def test_destroy_removes_everything_by_default(synth):
    """deploy.retain_data is false by default: no resource survives `make destroy` (a retained log
    group or bucket would also block the next deploy with the same names)."""
    assert synth.pipeline.deploy.retain_data is False
    kept = {k: r["Type"] for k, r in synth.template["Resources"].items() if r.get("DeletionPolicy") == "Retain"}
    assert kept == {}
    for g in synth.resources("AWS::Logs::LogGroup").values():
        assert g["Properties"]["RetentionInDays"] == synth.pipeline.deploy.log_retention_days


def test_the_etl_gets_its_jar_and_may_read_only_that_object_of_the_asset_bucket(synth):
    """glue.validation calls the record checks as a Java UDF: the job's --extra-jars is the uploaded
    jar (`make package-glue`), and the ETL role may read that object, like its script and libs."""
    args = synth.one("AWS::Glue::Job")["DefaultArguments"]
    [jar_key] = re.findall(r"[0-9a-f]{64}\.jar", json.dumps(args["--extra-jars"]))
    reads = [json.dumps(st["Resource"]) for st in synth.role_statements(_role_id(synth, "Glue ETL"))
             if "s3:GetObject" in _as_list(st["Action"])]
    assert any(jar_key in r for r in reads), reads
    assert jar_key not in json.dumps(args["--extra-py-files"])
