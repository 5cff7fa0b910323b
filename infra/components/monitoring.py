"""CloudWatch alarms (all to the operations topic), Glue failure events, and one dashboard that
follows the pipeline from ingest to gold.

What the alarms rely on (tests/infra/test_monitoring.py checks each against the template):
- Managed Flink ("Metrics and dimensions in Managed Service for Apache Flink"): on Flink 2.2
  `fullRestarts` is gone and `uptime`/`downtime` are deprecated; `numRestarts` and
  `numberOfFailedCheckpoints` count since the job started, so an alarm watches their increase
  (DIFF), never their value, which would stay above 0 until the next restart. A stopped or
  never-started application reports nothing: the heartbeat (`KPUs`) treats missing data as
  breaching.
- Managed Flink ("Use custom metrics"): only metrics in the job's `kinesisanalytics` metric group
  reach CloudWatch, in AWS/KinesisAnalytics with the `Application` dimension at the APPLICATION
  metrics level; the job registers JOB_COUNTERS there (counts since the job started, like the above).
- CloudWatch ("Alarms on metric math expressions"): an alarm cannot use SEARCH, so the
  producer's per-source metrics are summed from one metric per polled source.
- Firehose ("Dynamic partitioning"): 500 active partitions by default; records past the limit go
  to the error prefix, so `PartitionCount` alarms before that.
"""

from __future__ import annotations

import re

from aws_cdk import (Duration, aws_cloudwatch as cw, aws_cloudwatch_actions as actions, aws_events as events,
                     aws_events_targets as targets, aws_kinesis as kinesis, aws_lambda as lambda_, aws_sns as sns,
                     aws_sqs as sqs)
from constructs import Construct

from vigia_core.config import Pipeline

PRODUCER_NAMESPACE = "Vigia"  # producer.handler.NAMESPACE (Powertools EMF metrics, dimensions service+source)
FLINK_NAMESPACE = "AWS/KinesisAnalytics"
# The job's counters, in its `kinesisanalytics` metric group (flink_app/job.py registers them).
JOB_COUNTERS = ("recordsRead", "eventsOnTime", "lateEvents", "invalidEvents", "duplicateEvents",
                "alertsPublished", "alertsDeadLettered", "alertsSuppressed")


def _metric(namespace: str, name: str, dims: dict[str, str], stat: str, period: Duration) -> cw.Metric:
    return cw.Metric(namespace=namespace, metric_name=name, dimensions_map=dims, statistic=stat, period=period)


def _id(name: str) -> str:
    """A metric-math id (lower-case first letter; letters, digits, _), unique per metric name."""
    return re.sub(r"\W", "_", name[0].lower() + name[1:])


def _increase(metric: cw.Metric, label: str) -> cw.MathExpression:
    """How much a count-since-job-start grew in each period (negative after a restart resets it)."""
    mid = _id(metric.metric_name)
    return cw.MathExpression(expression=f"DIFF({mid})", using_metrics={mid: metric}, label=label, period=metric.period)


def _producer_sum(name: str, sources: list[str], period: Duration) -> cw.MathExpression:
    """A producer EMF counter summed over the polled sources, without SEARCH (alarms reject it)."""
    using = {f"{_id(name)}_{i}": _metric(PRODUCER_NAMESPACE, name, {"service": "producer", "source": src}, "Sum", period)
             for i, src in enumerate(sources)}
    return cw.MathExpression(expression=f"SUM([{','.join(using)}])", using_metrics=using, label=name, period=period)


def alarm_specs(p: Pipeline) -> list[tuple]:
    """Each alarm: (id, metric key in build's table, comparison, threshold, missing data, meaning)."""
    a = p.deploy.alarms
    gt, lt = cw.ComparisonOperator.GREATER_THAN_THRESHOLD, cw.ComparisonOperator.LESS_THAN_THRESHOLD
    quiet, silent = cw.TreatMissingData.NOT_BREACHING, cw.TreatMissingData.BREACHING
    return [  # (id, metric, comparison, threshold, missing data, what it means)
        ("StreamIteratorAge", "iterator_age", gt, a.iterator_age_s * 1000, quiet, "stream readers fall behind"),
        ("ProducerPollErrors", "poll_errors", gt, 0, quiet, "a source API cannot be polled"),
        ("FlinkHeartbeat", "flink_kpus", lt, 1, silent, "the Flink application is not running (reports nothing)"),
        ("FlinkRestarts", "flink_restarts", gt, 0, quiet, "the Flink job restarted"),
        ("FlinkFailedCheckpoints", "flink_failed_checkpoints", gt, 0, quiet, "Flink checkpoints fail"),
        ("FlinkBehindLatest", "flink_behind", gt, a.flink_millis_behind_latest_s * 1000, quiet,
         "the Flink job lags the stream"),
        ("AlertsDeadLettered", "job_alertsDeadLettered", gt, 0, quiet,
         "the Flink job could not publish alerts and sent them to the dead-letter queue"),
        ("FirehoseFreshness", "firehose_freshness", gt, a.firehose_freshness_s, quiet, "raw data is late in S3"),
        ("FirehoseDeliveryFailures", "firehose_success", lt, 1, quiet, "Firehose fails to deliver to S3"),
        ("FirehoseActivePartitions", "firehose_partitions", gt, a.firehose_active_partitions, quiet,
         "Firehose nears its active-partition limit (past it, records go to the error prefix)"),
        ("GlueFailedTasks", "glue_failed_tasks", gt, 0, quiet, "Glue ETL tasks fail"),
        ("ProducerErrors", "lambda_errors", gt, 0, quiet, "the producer Lambda fails"),
        ("ProducerThrottles", "lambda_throttles", gt, 0, quiet, "the producer Lambda is throttled"),
        ("AlertDeliveryFailures", "alerts_failed", gt, 0, quiet, "SNS cannot deliver alerts"),
        ("AlertDeadLetters", "alerts_dead_letters", gt, 0, quiet, "undeliverable alerts wait in the dead-letter queue"),
    ]


def alarm_metrics(p: Pipeline, sources: list[str]) -> int:
    """Metrics in all alarms (what CloudWatch bills): the poll-error alarm sums one per source."""
    return sum(len(sources) if key == "poll_errors" else 1 for _, key, *_ in alarm_specs(p))


def build(scope: Construct, p: Pipeline, *, stream: kinesis.IStream, producer: lambda_.IFunction,
          sources: list[str], flink_app: str, delivery_stream: str, etl_job: str, crawlers: list[str],
          alert_topic: sns.ITopic, dlq: sqs.IQueue, ops_topic: sns.ITopic) -> cw.Dashboard:
    a = p.deploy.alarms
    period = Duration.seconds(a.period_s)
    flink = {"Application": flink_app}
    firehose = {"DeliveryStreamName": delivery_stream}
    glue_job = {"JobName": etl_job, "JobRunId": "ALL", "Type": "count"}
    m = {
        "iterator_age": stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum", period=period),
        "incoming": stream.metric_incoming_records(statistic="Sum", period=period),
        "lambda_errors": producer.metric_errors(statistic="Sum", period=period),
        "lambda_throttles": producer.metric_throttles(statistic="Sum", period=period),
        "lambda_invocations": producer.metric_invocations(statistic="Sum", period=period),
        "produced": _producer_sum("RecordsProduced", sources, period),
        "rejected": _producer_sum("ItemsRejected", sources, period),
        "poll_errors": _producer_sum("PollErrors", sources, period),
        "flink_kpus": _metric(FLINK_NAMESPACE, "KPUs", flink, "Maximum", period),
        "flink_restarts": _increase(_metric(FLINK_NAMESPACE, "numRestarts", flink, "Maximum", period), "restarts"),
        "flink_failed_checkpoints": _increase(
            _metric(FLINK_NAMESPACE, "numberOfFailedCheckpoints", flink, "Maximum", period), "failed checkpoints"),
        "flink_behind": _metric(FLINK_NAMESPACE, "millisBehindLatest",
                                {**flink, "Flow": "Input", "Id": p.stream.name}, "Maximum", period),
        "flink_records_in": _metric(FLINK_NAMESPACE, "numRecordsInPerSecond", flink, "Average", period),
        **{f"job_{name}": _increase(_metric(FLINK_NAMESPACE, name, flink, "Maximum", period), name)
           for name in JOB_COUNTERS},
        "alerts_published": alert_topic.metric_number_of_messages_published(statistic="Sum", period=period),
        "alerts_failed": alert_topic.metric_number_of_notifications_failed(statistic="Sum", period=period),
        "alerts_dead_letters": dlq.metric_approximate_number_of_messages_visible(statistic="Maximum", period=period),
        "firehose_freshness": _metric("AWS/Firehose", "DeliveryToS3.DataFreshness", firehose, "Maximum", period),
        "firehose_success": _metric("AWS/Firehose", "DeliveryToS3.Success", firehose, "Minimum", period),
        "firehose_records": _metric("AWS/Firehose", "DeliveryToS3.Records", firehose, "Sum", period),
        "firehose_partitions": _metric("AWS/Firehose", "PartitionCount", firehose, "Maximum", period),
        "glue_failed_tasks": _metric("Glue", "glue.driver.aggregate.numFailedTasks", glue_job, "Sum", period),
        "glue_records_read": _metric("Glue", "glue.driver.aggregate.recordsRead", glue_job, "Sum", period),
        "athena_bytes": _metric("AWS/Athena", "ProcessedBytes", {"WorkGroup": p.athena.workgroup}, "Sum", period),
    }
    alarms = alarm_specs(p)
    notify = actions.SnsAction(ops_topic)
    for cid, key, op, threshold, missing, meaning in alarms:
        alarm = cw.Alarm(scope, f"Alarm{cid}", alarm_name=f"{p.project}-{cid}", metric=m[key], threshold=threshold,
                         comparison_operator=op, evaluation_periods=1, alarm_description=f"{p.project}: {meaning}",
                         treat_missing_data=missing)
        alarm.add_alarm_action(notify)
        alarm.add_ok_action(notify)
    # A failed or timed-out job run is an event, not a metric: EventBridge sends it to the same topic.
    events.Rule(scope, "GlueFailures", description="Glue ETL or crawler failures", event_pattern=events.EventPattern(
        source=["aws.glue"],
        detail_type=["Glue Job State Change", "Glue Crawler State Change"],
        detail={"$or": [{"jobName": [etl_job], "state": ["FAILED", "TIMEOUT", "ERROR"]},
                        {"crawlerName": crawlers, "state": ["Failed"]}]},
    ), targets=[targets.SnsTopic(ops_topic)])

    def graph(title: str, *keys: str) -> cw.GraphWidget:
        return cw.GraphWidget(title=title, left=[m[k] for k in keys], width=8, height=6)

    board = cw.Dashboard(scope, "Dashboard", dashboard_name=p.project)
    board.add_widgets(cw.TextWidget(markdown=f"# {p.project}: ingest → stream → alerts | raw → gold → SQL",
                                    width=24, height=1))
    board.add_widgets(graph("1 Producer", "lambda_invocations", "produced", "rejected", "lambda_errors"),
                      graph("2 Stream", "incoming", "iterator_age"),
                      graph("3 Flink rules job", "flink_records_in", "flink_behind", "flink_kpus", "flink_restarts"))
    board.add_widgets(graph("3b Flink: where each record read went", "job_recordsRead", "job_eventsOnTime",
                            "job_lateEvents", "job_invalidEvents", "job_duplicateEvents"),
                      graph("4 Alerts", "job_alertsPublished", "job_alertsSuppressed", "job_alertsDeadLettered",
                            "alerts_published", "alerts_failed", "alerts_dead_letters"),
                      graph("5 Firehose to raw", "firehose_records", "firehose_freshness", "firehose_success",
                            "firehose_partitions"))
    board.add_widgets(graph("1b Producer health", "poll_errors", "lambda_throttles"),
                      graph("6 Glue ETL to gold, Athena", "glue_records_read", "glue_failed_tasks", "athena_bytes"),
                      graph("Flink checkpoints", "flink_failed_checkpoints"))
    return board
