"""CloudWatch alarms (all to the operations topic), Glue failure events, and one dashboard that
follows the pipeline from ingest to gold."""

from __future__ import annotations

from aws_cdk import (Duration, aws_cloudwatch as cw, aws_cloudwatch_actions as actions, aws_events as events,
                     aws_events_targets as targets, aws_kinesis as kinesis, aws_lambda as lambda_, aws_sns as sns,
                     aws_sqs as sqs)
from constructs import Construct

from vigia.config import Pipeline

PRODUCER_NAMESPACE = "Vigia"  # producer.handler.NAMESPACE (Powertools EMF metrics, dimensions service+source)


def _metric(namespace: str, name: str, dims: dict[str, str], stat: str, period: Duration) -> cw.Metric:
    return cw.Metric(namespace=namespace, metric_name=name, dimensions_map=dims, statistic=stat, period=period)


def _producer_total(name: str, period: Duration) -> cw.MathExpression:
    """A producer EMF counter summed over its per-source dimension."""
    search = f"SEARCH('{{{PRODUCER_NAMESPACE},service,source}} MetricName=\"{name}\"', 'Sum', {int(period.to_seconds())})"
    return cw.MathExpression(expression=f"SUM({search})", label=name, period=period)


def build(scope: Construct, p: Pipeline, *, stream: kinesis.IStream, producer: lambda_.IFunction,
          flink_app: str, delivery_stream: str, etl_job: str, crawlers: list[str], alert_topic: sns.ITopic,
          dlq: sqs.IQueue, ops_topic: sns.ITopic) -> cw.Dashboard:
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
        "produced": _producer_total("RecordsProduced", period),
        "rejected": _producer_total("ItemsRejected", period),
        "flink_downtime": _metric("AWS/KinesisAnalytics", "downtime", flink, "Maximum", period),
        "flink_failed_checkpoints": _metric("AWS/KinesisAnalytics", "numberOfFailedCheckpoints", flink, "Maximum", period),
        "flink_behind": _metric("AWS/KinesisAnalytics", "millisBehindLatest",
                                {**flink, "Flow": "Input", "Id": p.stream.name}, "Maximum", period),
        "flink_records_in": _metric("AWS/KinesisAnalytics", "numRecordsInPerSecond", flink, "Average", period),
        "alerts_published": alert_topic.metric_number_of_messages_published(statistic="Sum", period=period),
        "alerts_failed": alert_topic.metric_number_of_notifications_failed(statistic="Sum", period=period),
        "alerts_dead_letters": dlq.metric_approximate_number_of_messages_visible(statistic="Maximum", period=period),
        "firehose_freshness": _metric("AWS/Firehose", "DeliveryToS3.DataFreshness", firehose, "Maximum", period),
        "firehose_success": _metric("AWS/Firehose", "DeliveryToS3.Success", firehose, "Minimum", period),
        "firehose_records": _metric("AWS/Firehose", "DeliveryToS3.Records", firehose, "Sum", period),
        "glue_failed_tasks": _metric("Glue", "glue.driver.aggregate.numFailedTasks", glue_job, "Sum", period),
        "glue_records_read": _metric("Glue", "glue.driver.aggregate.recordsRead", glue_job, "Sum", period),
        "athena_bytes": _metric("AWS/Athena", "ProcessedBytes", {"WorkGroup": p.athena.workgroup}, "Sum", period),
    }
    gt, lt = cw.ComparisonOperator.GREATER_THAN_THRESHOLD, cw.ComparisonOperator.LESS_THAN_THRESHOLD
    alarms = [  # (id, metric, comparison, threshold, what it means)
        ("StreamIteratorAge", "iterator_age", gt, a.iterator_age_s * 1000, "stream readers fall behind"),
        ("FlinkDowntime", "flink_downtime", gt, 0, "the Flink job is not running"),
        ("FlinkFailedCheckpoints", "flink_failed_checkpoints", gt, 0, "Flink checkpoints fail"),
        ("FlinkBehindLatest", "flink_behind", gt, a.flink_millis_behind_latest_s * 1000, "the Flink job lags the stream"),
        ("FirehoseFreshness", "firehose_freshness", gt, a.firehose_freshness_s, "raw data is late in S3"),
        ("FirehoseDeliveryFailures", "firehose_success", lt, 1, "Firehose fails to deliver to S3"),
        ("GlueFailedTasks", "glue_failed_tasks", gt, 0, "Glue ETL tasks fail"),
        ("ProducerErrors", "lambda_errors", gt, 0, "the producer Lambda fails"),
        ("ProducerThrottles", "lambda_throttles", gt, 0, "the producer Lambda is throttled"),
        ("AlertDeliveryFailures", "alerts_failed", gt, 0, "SNS cannot deliver alerts"),
        ("AlertDeadLetters", "alerts_dead_letters", gt, 0, "undeliverable alerts wait in the dead-letter queue"),
    ]
    notify = actions.SnsAction(ops_topic)
    for cid, key, op, threshold, meaning in alarms:
        alarm = cw.Alarm(scope, f"Alarm{cid}", alarm_name=f"{p.project}-{cid}", metric=m[key], threshold=threshold,
                         comparison_operator=op, evaluation_periods=1, alarm_description=f"{p.project}: {meaning}",
                         treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
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
                      graph("3 Flink rules job", "flink_records_in", "flink_behind", "flink_downtime"))
    board.add_widgets(graph("4 Alerts", "alerts_published", "alerts_failed", "alerts_dead_letters"),
                      graph("5 Firehose to raw", "firehose_records", "firehose_freshness", "firehose_success"),
                      graph("6 Glue ETL to gold, Athena", "glue_records_read", "glue_failed_tasks", "athena_bytes"))
    return board
