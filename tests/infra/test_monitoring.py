"""Alarms and dashboard against the metrics the services document, so that no alarm waits on a
metric that never comes or latches on one that only grows.

- Managed Service for Apache Flink, "Metrics and dimensions"
  (https://docs.aws.amazon.com/managed-flink/latest/java/metrics-dimensions.html): Flink 2.2
  removed `fullRestarts` and deprecates `uptime`/`downtime`; `numRestarts` and
  `numberOfFailedCheckpoints` count since the job started. A stopped application reports nothing.
- "Use custom metrics with Amazon Managed Service for Apache Flink"
  (https://docs.aws.amazon.com/managed-flink/latest/java/monitoring-metrics-custom.html): only the
  job's `kinesisanalytics` metric group is exported, to AWS/KinesisAnalytics.
- CloudWatch, "Create a CloudWatch alarm based on a metric math expression"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create-alarm-on-metric-math-expression.html):
  alarms cannot use SEARCH.
- Firehose, "Dynamic partitioning" (https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html)
  and "Monitoring with CloudWatch metrics": 500 active partitions by default, `PartitionCount`.
"""

from __future__ import annotations

import json

import pytest

from infra.components.monitoring import JOB_COUNTERS

pytestmark = pytest.mark.integration

DOCUMENTED = {
    "AWS/KinesisAnalytics": {"KPUs", "numRestarts", "numberOfFailedCheckpoints", "millisBehindLatest",
                             "numRecordsInPerSecond", *JOB_COUNTERS},
    "AWS/Kinesis": {"GetRecords.IteratorAgeMilliseconds", "IncomingRecords"},
    "AWS/Firehose": {"DeliveryToS3.DataFreshness", "DeliveryToS3.Success", "DeliveryToS3.Records", "PartitionCount"},
    "AWS/Lambda": {"Errors", "Throttles", "Invocations"},
    "AWS/SNS": {"NumberOfMessagesPublished", "NumberOfNotificationsFailed"},
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible"},
    "Glue": {"glue.driver.aggregate.numFailedTasks", "glue.driver.aggregate.recordsRead"},
    "AWS/Athena": {"ProcessedBytes"},
    "Vigia": {"RecordsProduced", "ItemsRejected", "PollErrors"},  # producer.handler._emit_metrics
}
DEPRECATED = {"downtime", "uptime", "fullRestarts"}
SINCE_JOB_START = {"numRestarts", "numberOfFailedCheckpoints", *JOB_COUNTERS}


def alarms(synth) -> dict[str, dict]:
    return {a["Properties"]["AlarmName"].split("-", 1)[1]: a["Properties"]
            for a in synth.resources("AWS::CloudWatch::Alarm").values()}


def watched(alarm: dict) -> list[tuple[str, str]]:
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"])]
    return [(q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
            for q in alarm["Metrics"] if "MetricStat" in q]


def expressions(alarm: dict) -> list[str]:
    return [q["Expression"] for q in alarm.get("Metrics", []) if "Expression" in q]


def test_every_alarm_and_graph_uses_a_documented_current_metric(synth):
    for name, alarm in alarms(synth).items():
        for ns, metric in watched(alarm):
            assert metric in DOCUMENTED[ns], (name, ns, metric)
        assert not any("SEARCH" in e for e in expressions(alarm)), name
    board = json.dumps(synth.one("AWS::CloudWatch::Dashboard")["DashboardBody"])
    for metric in DEPRECATED:
        assert f'\\"{metric}\\"' not in board and f'"{metric}"' not in board


def test_counts_since_job_start_alarm_on_their_increase(synth):
    for name, alarm in alarms(synth).items():
        counts = [m for _, m in watched(alarm) if m in SINCE_JOB_START]
        if counts:
            assert expressions(alarm) and all(e.startswith(("DIFF(", "RATE(")) for e in expressions(alarm)), name
            assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_a_stopped_flink_application_breaches_the_heartbeat(synth):
    beat = alarms(synth)["FlinkHeartbeat"]
    assert beat["TreatMissingData"] == "breaching"
    assert watched(beat) == [("AWS/KinesisAnalytics", "KPUs")]
    assert beat["Dimensions"] == [{"Name": "Application", "Value": synth.pipeline.flink.application}]
    quiet = [n for n, a in alarms(synth).items() if a["TreatMissingData"] != "notBreaching"]
    assert quiet == ["FlinkHeartbeat"]  # the others: no data means nothing happened


def test_dead_lettered_alerts_poll_errors_and_the_partition_limit_have_alarms(synth):
    from infra.components.producer import aws_sources

    a = alarms(synth)
    assert watched(a["AlertsDeadLettered"]) == [("AWS/KinesisAnalytics", "alertsDeadLettered")]
    polled = [q["MetricStat"]["Metric"] for q in a["ProducerPollErrors"]["Metrics"] if "MetricStat" in q]
    assert {m["MetricName"] for m in polled} == {"PollErrors"}
    assert sorted(d["Value"] for m in polled for d in m["Dimensions"] if d["Name"] == "source") == sorted(
        aws_sources(synth.pipeline))
    parts = a["FirehoseActivePartitions"]
    assert watched(parts) == [("AWS/Firehose", "PartitionCount")]
    assert parts["Threshold"] == synth.pipeline.deploy.alarms.firehose_active_partitions < 500
