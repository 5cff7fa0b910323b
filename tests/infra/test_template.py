"""The synthesized template holds every resource of the issue, configured from pipeline.yaml."""

from __future__ import annotations

import json

import pytest

from vigia_core.config import SEVERITY_ORDER

pytestmark = pytest.mark.integration  # synthesizes with the real CDK (jsii/node)


def test_every_component_is_in_the_template(synth):
    required = {
        "AWS::Kinesis::Stream": 1, "AWS::Lambda::Function": 1, "AWS::Events::Rule": 1,
        "AWS::KinesisAnalyticsV2::Application": 1, "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption": 1,
        "AWS::SNS::Topic": 2, "AWS::SQS::Queue": 1, "AWS::KinesisFirehose::DeliveryStream": 1,
        "AWS::S3::Bucket": 5, "AWS::Glue::Database": 1, "AWS::Glue::Job": 1, "AWS::Glue::Crawler": 2,
        "AWS::Glue::Workflow": 1, "AWS::Glue::Trigger": 1, "AWS::Glue::Table": 1, "AWS::Athena::WorkGroup": 1,
        "AWS::Athena::NamedQuery": 2, "AWS::CloudWatch::Alarm": 15, "AWS::CloudWatch::Dashboard": 1,
        "AWS::KMS::Key": 2, "AWS::Glue::SecurityConfiguration": 1,
    }
    counts = {t: 0 for t in required}
    for r in synth.template["Resources"].values():
        if r["Type"] in counts:
            counts[r["Type"]] += 1
    counts["AWS::Lambda::Function"] = len([f for f in synth.resources("AWS::Lambda::Function").values()
                                           if f["Properties"].get("Handler") == "producer.handler.handler"])
    counts["AWS::Events::Rule"] = len([r for r in synth.resources("AWS::Events::Rule").values()
                                       if "ScheduleExpression" in r["Properties"]])
    assert counts == required


def test_stream_size_retention_and_encryption(synth):
    s = synth.pipeline.stream
    props = synth.one("AWS::Kinesis::Stream")
    assert props["Name"] == s.name
    assert props["ShardCount"] == s.shard_count
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["RetentionPeriodHours"] == s.retention_hours
    assert props["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}


def test_producer_lambda_schedule_and_one_run_at_a_time(synth):
    """EventBridge invokes Lambda asynchronously and at least once; a throttled event is retried for
    up to 6 hours unless MaximumEventAgeInSeconds is set (Lambda developer guide, "Asynchronous
    invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html): one reserved
    execution, no retries, and an event older than one schedule period is dropped."""
    p = synth.pipeline
    fn = next(f["Properties"] for f in synth.resources("AWS::Lambda::Function").values()
              if f["Properties"].get("Handler") == "producer.handler.handler")
    assert fn["TracingConfig"] == {"Mode": "Active"}
    assert fn["MemorySize"] == p.deploy.producer.memory_mib and fn["Timeout"] == p.deploy.producer.timeout_s
    env = fn["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "producer" and not [k for k in env if "SECRET" in k]
    assert fn["ReservedConcurrentExecutions"] == 1 == p.deploy.producer.reserved_concurrency
    [invoke] = [c["Properties"] for c in synth.resources("AWS::Lambda::EventInvokeConfig").values()]
    assert invoke["MaximumRetryAttempts"] == 0 and invoke["MaximumEventAgeInSeconds"] == 60  # rate(1 minute)
    rule = next(r["Properties"] for r in synth.resources("AWS::Events::Rule").values()
                if "ScheduleExpression" in r["Properties"])
    assert rule["ScheduleExpression"] == p.producer.schedule
    polled = json.loads(rule["Targets"][0]["Input"])["sources"]
    assert polled == [s.name for s in p.producer.sources if s.type != "simulator"]


def _expected_severities(minimum: str) -> list[str]:
    ordered = ["info", "warning", "critical"]  # documented order, independent of SEVERITY_ORDER's encoding
    assert sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.get) == ordered
    return ordered[ordered.index(minimum):]


def test_alert_subscriptions_filter_by_severity_with_dead_letter_queue(synth):
    p = synth.pipeline
    topic_id = synth.logical_id("AWS::SNS::Topic", TopicName=p.alerts.topic)
    dlq_id = synth.logical_id("AWS::SQS::Queue", QueueName=p.alerts.dead_letter_queue)
    subs = [s["Properties"] for s in synth.resources("AWS::SNS::Subscription").values()
            if s["Properties"]["TopicArn"] == {"Ref": topic_id}]
    assert len(subs) == len(p.alerts.subscriptions)
    for want in p.alerts.subscriptions:
        got = next(s for s in subs if s["Protocol"] == want.protocol and s["Endpoint"] == want.endpoint)
        assert got["FilterPolicy"] == {"severity": _expected_severities(want.min_severity)}
        assert got["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    ops_id = synth.logical_id("AWS::SNS::Topic", TopicName=p.operations.topic)
    ops_subs = [s["Properties"] for s in synth.resources("AWS::SNS::Subscription").values()
                if s["Properties"]["TopicArn"] == {"Ref": ops_id}]
    assert [(s["Protocol"], s["Endpoint"]) for s in ops_subs] == [("email", p.operations.email)]


def test_flink_application(synth):
    p = synth.pipeline
    app = synth.one("AWS::KinesisAnalyticsV2::Application")
    assert app["RuntimeEnvironment"] == "FLINK-2_2" and app["ApplicationName"] == p.flink.application
    cfg = app["ApplicationConfiguration"]
    assert cfg["ApplicationCodeConfiguration"]["CodeContentType"] == "ZIPFILE"
    assert cfg["ApplicationCodeConfiguration"]["CodeContent"]["S3ContentLocation"]["FileKey"].endswith(".zip")
    groups = {g["PropertyGroupId"]: g["PropertyMap"] for g in cfg["EnvironmentProperties"]["PropertyGroups"]}
    assert groups["kinesis.analytics.flink.run.options"] == synth.run_options
    job = groups["vigia.job"]
    stream_id = synth.logical_id("AWS::Kinesis::Stream", Name=p.stream.name)
    assert job["stream.arn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    # Exactly the keys flink_app.properties.JobSettings knows (it rejects unknown ones).
    assert set(job) == {"aws.region", "stream.arn", "alert.topic.arn", "alert.dlq.url", "late.bucket",
                        "source.init.position"}
    flink = cfg["FlinkApplicationConfiguration"]
    assert flink["CheckpointConfiguration"] == {
        "ConfigurationType": "CUSTOM", "CheckpointingEnabled": True,
        "CheckpointInterval": p.flink.checkpoint_interval_s * 1000,
        "MinPauseBetweenCheckpoints": p.flink.min_pause_between_checkpoints_s * 1000}
    # Autoscaling has no maximum ("up to ParallelismPerKPU times the maximum KPUs", API
    # ParallelismConfiguration): with provisioned shards it stays off and the parallelism <= shards.
    par = flink["ParallelismConfiguration"]
    assert par["Parallelism"] == p.flink.parallelism <= synth.one("AWS::Kinesis::Stream")["ShardCount"]
    assert par["AutoScalingEnabled"] is False
    assert cfg["ApplicationSnapshotConfiguration"]["SnapshotsEnabled"] is True
    logging = synth.one("AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption")
    assert "log-stream:application" in json.dumps(logging)


def test_firehose_delivery_from_definition(synth):
    f = synth.pipeline.firehose
    ds = synth.one("AWS::KinesisFirehose::DeliveryStream")
    assert ds["DeliveryStreamName"] == f.name and ds["DeliveryStreamType"] == "KinesisStreamAsSource"
    dest = ds["ExtendedS3DestinationConfiguration"]
    assert dest["Prefix"] == f.prefix and dest["ErrorOutputPrefix"] == f.error_output_prefix
    assert dest["CompressionFormat"] == f.compression
    assert dest["BufferingHints"] == {"SizeInMBs": f.buffering.size_mib, "IntervalInSeconds": f.buffering.interval_s}
    assert dest["DynamicPartitioningConfiguration"]["Enabled"] is True
    params = {prm["ParameterName"]: prm["ParameterValue"]
              for proc in dest["ProcessingConfiguration"]["Processors"] for prm in proc.get("Parameters", [])}
    assert params["MetadataExtractionQuery"] == f.partition_query
    assert params["JsonParsingEngine"] == "JQ-1.6"
    # A newline delimiter is AppendDelimiterToRecord without parameters (Firehose's default).
    assert f.delimiter == "\n" and "Delimiter" not in params
    assert [proc["Type"] for proc in dest["ProcessingConfiguration"]["Processors"]] == [
        "MetadataExtraction", "AppendDelimiterToRecord"]
    raw_id = synth.logical_id("AWS::S3::Bucket", BucketName={"Fn::Join": ["", [
        synth.pipeline.buckets.raw + "-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]})
    assert dest["BucketARN"] == {"Fn::GetAtt": [raw_id, "Arn"]}


def test_glue_job_crawlers_and_workflow(synth):
    g = synth.pipeline.glue
    job = synth.one("AWS::Glue::Job")
    assert job["Name"] == g.etl_job and job["GlueVersion"] == "5.0"
    assert job["Command"]["Name"] == "glueetl"
    assert job["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    assert "--extra-py-files" in job["DefaultArguments"]
    modules = job["DefaultArguments"]["--additional-python-modules"].split(",")
    assert {"pydantic", "jsonschema", "pyyaml"} <= {m.split("==")[0].lower() for m in modules}
    assert all("==" in m for m in modules)
    crawlers = {c["Properties"]["Name"]: c["Properties"] for c in synth.resources("AWS::Glue::Crawler").values()}
    assert set(crawlers) == {c.name for c in g.crawlers}
    for c in g.crawlers:
        got = crawlers[c.name]
        assert got["SchemaChangePolicy"] == {"UpdateBehavior": c.schema_change.update,
                                             "DeleteBehavior": c.schema_change.delete}
        assert got["RecrawlPolicy"] == {"RecrawlBehavior": c.recrawl}
        paths = json.dumps(got["Targets"])
        d = synth.pipeline.deploy.glue
        if c.bucket == "raw":
            assert f"/{c.path}" in paths and got["Schedule"] == {"ScheduleExpression": d.raw_crawler_schedule}
            assert json.loads(got["Configuration"])["CrawlerOutput"]["Partitions"] == {
                "AddOrUpdateBehavior": "InheritFromTable"}
        else:  # one target per gold table folder; daily, for schema changes (the ETL adds partitions)
            for table in (g.tables.events, g.tables.hourly, g.tables.quarantine):
                assert f"/{c.path}{table}/" in paths
            assert got["Schedule"] == {"ScheduleExpression": d.gold_crawler_schedule}
    [trigger] = [t["Properties"] for t in synth.resources("AWS::Glue::Trigger").values()]
    job_id = synth.logical_id("AWS::Glue::Job", Name=g.etl_job)
    assert trigger["Type"] == "SCHEDULED" and trigger["Actions"] == [{"JobName": {"Ref": job_id}}]


def test_raw_table_is_declared_from_the_contract(synth):
    """The raw table's columns come from the contract, read by the OpenX JSON SerDe with
    ignore.malformed.json (Athena, "OpenX JSON SerDe",
    https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html), at the folder Firehose delivers to."""
    from firehose.definition import raw_table
    from vigia_core import contract

    p = synth.pipeline
    table = synth.one("AWS::Glue::Table")
    assert table["DatabaseName"] == p.glue.database
    got, want = table["TableInput"], raw_table(p, "BUCKET")
    sd = got["StorageDescriptor"]
    assert [c["Name"] for c in sd["Columns"]] == [c.name for c in contract.columns()]
    assert sd["SerdeInfo"] == {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                               "Parameters": {"ignore.malformed.json": "true"}}
    assert {**got, "StorageDescriptor": {**sd, "Location": None}} == {
        **want, "StorageDescriptor": {**want["StorageDescriptor"], "Location": None}}
    raw_id = synth.logical_id("AWS::S3::Bucket", BucketName={"Fn::Join": ["", [
        p.buckets.raw + "-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]})
    assert sd["Location"] == {"Fn::Join": ["", ["s3://", {"Ref": raw_id}, "/raw/"]]}
    raw_crawler = next(c for c in p.glue.crawlers if c.bucket == "raw")
    crawler = synth.one_where("AWS::Glue::Crawler", Name=raw_crawler.name)
    assert crawler["Targets"]["S3Targets"] == [{"Path": sd["Location"]}]  # it crawls the table's folder


def test_athena_workgroup_and_named_queries(synth):
    p = synth.pipeline
    wg = synth.one("AWS::Athena::WorkGroup")
    cfg = wg["WorkGroupConfiguration"]
    assert wg["Name"] == p.athena.workgroup
    assert cfg["BytesScannedCutoffPerQuery"] == p.athena.bytes_scanned_cutoff_mib * 1024 * 1024
    assert cfg["EnforceWorkGroupConfiguration"] is True
    assert cfg["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    queries = {q["Properties"]["Name"]: q["Properties"] for q in synth.resources("AWS::Athena::NamedQuery").values()}
    assert {n: q["QueryString"] for n, q in queries.items()} == synth.queries
    assert all(q["Database"] == p.glue.database for q in queries.values())


def test_alarms_notify_the_operations_topic(synth):
    p = synth.pipeline
    ops = {"Ref": synth.logical_id("AWS::SNS::Topic", TopicName=p.operations.topic)}
    alarms = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]
    assert all(a["AlarmActions"] == [ops] for a in alarms)
    glue_rule = next(r["Properties"] for r in synth.resources("AWS::Events::Rule").values()
                     if "EventPattern" in r["Properties"])
    assert glue_rule["EventPattern"]["source"] == ["aws.glue"]
    assert glue_rule["Targets"][0]["Arn"] == ops
    board = json.dumps(synth.one("AWS::CloudWatch::Dashboard")["DashboardBody"])
    for stage in ("Producer", "Stream", "Flink", "Alerts", "Firehose", "Glue"):
        assert stage in board


def _resolve(value, refs: dict):
    """Evaluate the Fn::Join / Ref subset CloudFormation would, with the given Ref values."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(v, refs) for v in parts)
    if isinstance(value, dict) and "Ref" in value:
        return refs[value["Ref"]]
    return value


def test_glue_reads_the_deployed_definition_with_the_deployed_bucket_names(synth):
    import yaml

    from vigia_core import config

    p = synth.pipeline
    account, region = "123456789012", p.region
    refs = {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    refs.update({k: f"bucket-{k}" for k in synth.resources("AWS::S3::Bucket")})
    [upload] = [r["Properties"] for k, r in synth.template["Resources"].items()
                if r["Type"] == "Custom::AWS" and k.startswith("DeployedDefinition")]
    call = json.loads(_resolve(upload["Create"], refs))
    assert call["action"] == "putObject" and call["parameters"]["Key"] == "deployed/pipeline.yaml"
    deployed = config.parse(yaml.safe_load(call["parameters"]["Body"]))
    for k, name in p.buckets.model_dump().items():
        assert getattr(deployed.buckets, k) == f"{name}-{account}-{region}"
    assert deployed.model_dump(exclude={"buckets"}) == p.model_dump(exclude={"buckets"})
    job = synth.one("AWS::Glue::Job")
    uri = _resolve(job["DefaultArguments"]["--pipeline_uri"], refs)
    assert uri == f"s3://{call['parameters']['Bucket']}/deployed/pipeline.yaml"
