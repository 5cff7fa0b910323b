"""Rule validation and compilation, the alert model, cooldown, the reference evaluator, properties."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from flink_app import alerts, properties, reference, rules
from tests.support import flink_data as fd
from vigia_core import config
from vigia_core.config import Rule

RULE = {"name": "hot", "metric": "temperature", "window": {"type": "tumble", "size_s": 60},
        "aggregate": "max", "comparison": ">", "threshold": 90, "severity": "critical", "cooldown_s": 120}


def rule(**over) -> Rule:
    return Rule.model_validate({**RULE, **over})


@pytest.mark.parametrize("bad, problem", [
    ({"aggregate": "median"}, "aggregate"),
    ({"window": {"type": "hop", "size_s": 60}}, "a hop window needs slide_s"),
    ({"window": {"type": "hop", "size_s": 60, "slide_s": 25}}, "multiple of slide_s"),
    ({"comparison": "=>"}, "comparison"),
    ({"threshhold": 3}, "unknown key"),
])
def test_an_invalid_rule_is_reported_with_its_name_and_problem(bad, problem):
    with pytest.raises(rules.RuleError) as err:
        rules.validate_raw([RULE, {**RULE, "name": "broken", **bad}])
    assert "rule 'broken'" in str(err.value) and problem in str(err.value)


def test_semantic_checks_name_the_rule():
    with pytest.raises(rules.RuleError, match="rule 'hot': metric 'wind' is not declared"):
        rules.check([rule(metric="wind")], {"temperature": {}})
    with pytest.raises(rules.RuleError, match="rule 'hot': count >= -1.0 is always true"):
        rules.check([rule(aggregate="count", comparison=">=", threshold=-1)])
    with pytest.raises(rules.RuleError, match="duplicate rule name"):
        rules.check([rule(), rule()])


def test_rules_sharing_window_and_filters_share_one_window_tvf_aggregation():
    sql = rules.compile_rules(fd.RULES)
    # hot_max, hot_warn and low_min read the same windows; the others differ in window or filter.
    assert sql.count("FROM TABLE(TUMBLE(") + sql.count("FROM TABLE(HOP(") == len(fd.RULES) - 2
    assert sql.count("UNION ALL") == len(fd.RULES) - 3
    assert "WHERE metric IN ('pressure', 'temperature')" in sql
    assert sql.count("MAX(`value`)") == 2  # the shared aggregation and other_source's: once per aggregation
    assert "HOP(TABLE events, DESCRIPTOR(rowtime), INTERVAL '30' SECOND, INTERVAL '60' SECOND)" in sql
    assert "entity_id = 'h-1'" in sql and "source = 'other'" in sql
    assert "metric = 'vibration' AND mean > 40.0" in sql and "metric = 'humidity' AND n >= 20.0" in sql
    assert "ROW('hot_max', " in sql and "ROW('hot_warn', " in sql
    assert "'it''s'" in rules.compile_rules([rule(metric="it's")])  # quoted, never injected


def test_the_repo_rules_are_valid():
    p = config.load()
    assert rules.compile_rules(rules.rules_of(p))


def test_alert_id_is_deterministic_and_distinct():
    t = datetime(2026, 11, 1, 10, 1, tzinfo=timezone.utc)
    a = alerts.alert_id("hot", "sensor-1", t)
    assert a == alerts.alert_id("hot", "sensor-1", t.astimezone(timezone(timedelta(hours=2))))
    assert len({a, alerts.alert_id("hot", "sensor-2", t), alerts.alert_id("cold", "sensor-1", t),
                alerts.alert_id("hot", "sensor-1", t + timedelta(minutes=1))}) == 4


def test_sms_fits_140_characters_and_email_has_the_details():
    t = datetime(2026, 11, 1, 10, 1, tzinfo=timezone.utc)
    long_entity = "sensor-" + "x" * 200
    a = alerts.Alert.of(rule(), long_entity, t, t + timedelta(minutes=1), 118.8642, 30)
    assert len(a.sms_text()) <= alerts.SMS_MAX
    short = alerts.Alert.of(rule(), "sensor-008", t, t + timedelta(minutes=1), 118.8642, 30)
    assert short.sms_text() == "CRITICAL hot sensor-008: temperature 118.86 > 90 at 10:02Z"
    for detail in ("118.86", "> 90", "2026-11-01T10:01:00.000Z", "30", short.alert_id):
        assert detail in short.email_text()
    msg = json.loads(short.sns_message())
    assert set(msg) == {"default", "sqs", "sms", "email"} and json.loads(msg["sqs"])["alert_id"] == short.alert_id
    assert short.sns_attributes()["severity"] == {"DataType": "String", "StringValue": "critical"}


def test_cooldown_is_per_rule_and_entity_in_event_time():
    c = alerts.Cooldown({"hot": 120})
    t = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)

    def at(minutes, entity="e1"):
        return alerts.Alert.of(rule(), entity, t + timedelta(minutes=minutes), t + timedelta(minutes=minutes + 1), 95, 1)
    assert [c.admit(at(0)), c.admit(at(1)), c.admit(at(0, "e2")), c.admit(at(2)), c.admit(at(3))] == \
        [True, False, True, True, False]


def test_reference_windows_assign_tumble_and_hop():
    hop = rule(window={"type": "hop", "size_s": 60, "slide_s": 20})
    assert reference.window_starts(hop, 65_000) == [20_000, 40_000, 60_000]
    assert reference.window_starts(rule(), 65_000) == [60_000]
    assert reference.window_starts(rule(), 60_000) == [60_000]


def test_reference_lateness_is_per_partition():
    def ev(i, sec, part):
        return {**fd.envelope(i, part, "temperature", 1.0, fd.T0 + timedelta(seconds=sec)), "event_id": f"e{i}"}
    events = [ev(0, 100, "a"), ev(1, 10, "b"), ev(2, 10, "a"), ev(3, 96, "a"), ev(4, 94, "a")]
    res = reference.evaluate(events, [rule()], 5, partition_of=lambda e: e["entity_id"])
    assert [e["event_id"] for e in res.late] == ["e2", "e4"]   # b is another partition; 96 > 100 - 5


def test_properties_round_trip_and_errors(tmp_path):
    s = properties.JobSettings(region="eu-west-1", stream_arn="arn:aws:kinesis:eu-west-1:1:stream/x",
                               alert_topic_arn="arn:t", alert_dlq_url="http://q", late_bucket="raw")
    f = properties.write(s, tmp_path / "application_properties.json")
    assert properties.load(f) == s
    groups = json.loads(f.read_text())
    assert groups[0]["PropertyGroupId"] == "vigia.job" and groups[0]["PropertyMap"]["stream.arn"] == s.stream_arn
    groups[0]["PropertyMap"]["stream.ar"] = "typo"
    f.write_text(json.dumps(groups))
    with pytest.raises(properties.PropertiesError, match="unknown keys \\['stream.ar'\\]"):
        properties.load(f)
    with pytest.raises(properties.PropertiesError, match="alert.topic.arn"):
        properties.JobSettings.from_groups([{"PropertyGroupId": "vigia.job", "PropertyMap": {
            "aws.region": "eu-west-1", "stream.arn": "arn"}}])


def test_job_start_up_stops_on_a_bad_rule_with_its_name(tmp_path):
    data = config.load().model_dump(mode="json")
    data["rules"][1]["window"] = {"type": "hop", "size_s": 60, "slide_s": 7}
    import yaml

    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(data))
    s = properties.JobSettings(region="eu-west-1", source_connector="filesystem", source_path=str(tmp_path),
                               sink="print", pipeline_path=str(tmp_path / "pipeline.yaml"))
    props = properties.write(s, tmp_path / "props.json")
    run = subprocess.run([sys.executable, "-m", "flink_app.main"], capture_output=True, text=True, timeout=60,
                         env={"VIGIA_FLINK_PROPERTIES": str(props), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 2
    assert "cannot start" in run.stderr and f"rule '{data['rules'][1]['name']}'" in run.stderr and "multiple of slide_s" in run.stderr


def test_demo_reads_the_jobs_counts_from_its_log(tmp_path):
    from vigia.cli import realtime

    log = tmp_path / "flink.log"
    log.write_text("1> count on_time 7\nold run\n")
    start = log.stat().st_size
    with open(log, "a") as f:
        f.write("vigia flink job: 4 rules\n1> count on_time 120\n2> count late 3\n"
                "2> late event stored at s3://b/late/late/x.json\n1> count invalid 2\n2> count on_time 5\n")
    assert realtime.job_counts(log, start) == {"on_time": 125, "late": 3, "invalid": 2}
    assert realtime.wait_for_counts(log, start, records=130, timeout_s=0) == {"on_time": 125, "late": 3, "invalid": 2}
