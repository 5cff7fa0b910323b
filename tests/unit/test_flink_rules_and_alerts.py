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


def test_reference_admits_what_the_checks_pass_and_the_first_copy_of_each_event_id():
    """The plain-Python consumer's gate (benchmark baseline, demo's expected alerts): every record
    ends admitted, invalid or a duplicate, and the verdict is the checks' own."""
    from tests.support import adversarial as adv
    from vigia_core.contract import checks

    limits = checks.Limits.of(config.load())
    defects = [data for _, data in adv.named_defects()]
    valid = [json.dumps(adv.valid(i)).encode() for i in range(5)]
    stream = [valid[0], *defects, valid[1], valid[0], valid[2], valid[1], valid[0]]
    out = reference.admit([(d, adv.ARRIVAL) for d in stream], limits)
    passing = [d for d in defects if checks.first_failure(d, limits, adv.ARRIVAL) is None]  # edge cases
    assert out.events == [json.loads(d) for d in (valid[0], *passing, valid[1], valid[2])]
    assert out.invalid == len(defects) - len(passing) > 0
    assert out.duplicates == 3
    assert len(out.events) + out.invalid + out.duplicates == len(stream)


def test_the_jobs_polls_leave_room_in_each_shards_read_limit():
    """"Each shard can support up to five read transactions per second", shared by every consumer
    (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html), and Firehose
    reading the stream calls GetRecords once a second per shard
    (https://docs.aws.amazon.com/firehose/latest/dev/writing-with-kinesis-streams.html). The job's
    poll interval (its wait after a non-empty and after a first empty GetRecords) leaves room."""
    from flink_app import job
    from vigia.local.variants import with_settings

    p = config.load()
    assert 1000 / p.flink.poll_interval_ms + 1 <= 5
    with pytest.raises(config.ConfigError, match="poll_interval_ms"):
        with_settings(p, "flink", poll_interval_ms=200)   # 5 calls/s: none left for Firehose
    ddl = job.source_ddl(properties.JobSettings(region=p.region, stream_arn="arn:aws:kinesis:x"), p)
    for option in ("nonempty-records-fetch-interval", "empty-records-fetch-interval"):
        assert f"'source.reader.{option}' = '{p.flink.poll_interval_ms} ms'" in ddl


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


# --- rule kinds and the alert lifecycle (issue #14) ------------------------------------------------

ABSENCE = {"name": "silent", "kind": "absence", "metric": "temperature", "for_s": 120, "lookback_s": 3600,
           "severity": "warning"}
CHANGE = {**RULE, "name": "jump", "kind": "change", "change": "difference", "aggregate": "avg"}
ANOMALY = {"name": "odd", "kind": "anomaly", "metric": "temperature", "window": {"type": "tumble", "size_s": 60},
           "aggregate": "avg", "baseline": {"windows": 10, "deviations": 3, "warmup": 5}, "severity": "info"}


@pytest.mark.parametrize("bad, problem", [
    ({**RULE, "for": {"windows": 3, "breaching": 4}}, "for: Value error, breaching (4) must not exceed windows (3)"),
    ({**RULE, "for": {"windows": 0, "breaching": 1}}, "for.windows: Input should be greater than or equal to 1"),
    ({**RULE, "kind": "sometimes"}, "kind: Input should be 'threshold', 'change', 'anomaly' or 'absence'"),
    ({k: v for k, v in CHANGE.items() if k != "change"}, "a change rule needs change"),
    ({**CHANGE, "change": "ratio"}, "change: Input should be 'difference' or 'rate'"),
    ({**ANOMALY, "threshold": 3}, "a anomaly rule takes no threshold"),
    ({k: v for k, v in ANOMALY.items() if k != "baseline"}, "a anomaly rule needs baseline"),
    ({**ANOMALY, "baseline": {"windows": 4, "deviations": 3, "warmup": 5}}, "warmup (5) must not exceed windows (4)"),
    ({**ANOMALY, "baseline": {"windows": 4, "deviations": 0}}, "baseline.deviations: Input should be greater than 0"),
    ({k: v for k, v in ABSENCE.items() if k != "for_s"}, "a absence rule needs for_s"),
    ({**ABSENCE, "lookback_s": 60}, "lookback_s (60) must be at least for_s (120)"),
    ({**ABSENCE, "aggregate": "max"}, "a absence rule takes no aggregate"),
    ({**ABSENCE, "for": {"windows": 2, "breaching": 1}}, "a absence rule takes no for"),
    ({**ABSENCE, "window": {"type": "tumble", "size_s": 300}}, "window must be a tumble of at most for_s (120)"),
    ({**RULE, "for_s": 10}, "a threshold rule takes no for_s"),
    ({**RULE, "resolve": "sometimes"}, "resolve: Input should be a valid boolean"),
])
def test_an_invalid_rule_kind_is_reported_with_its_name_and_problem(bad, problem):
    with pytest.raises(rules.RuleError) as err:
        rules.validate_raw([RULE, {**bad, "name": "broken"}])
    assert str(err.value).startswith("rule 'broken': ") and problem in str(err.value), str(err.value)


def test_kind_checks_name_the_rule_and_the_pipeline_reports_the_key():
    with pytest.raises(rules.RuleError, match="rule 'jump': a rate of change needs tumbling windows"):
        rules.check([Rule.model_validate({**CHANGE, "change": "rate",
                                          "window": {"type": "hop", "size_s": 60, "slide_s": 30}})])
    data = config.load().model_dump(mode="json", by_alias=True)
    data["rules"].append({**ABSENCE, "lookback_s": 60})
    with pytest.raises(config.ConfigError, match=rf"rules\.{len(data['rules']) - 1}: Value error, lookback_s \(60\) must be at least for_s"):
        config.parse(data)


def test_every_kind_reads_as_written_and_round_trips():
    written = [RULE, {**RULE, "name": "held", "for": {"windows": 3, "breaching": 2}, "resolve": True},
               CHANGE, ANOMALY, ABSENCE]
    parsed = rules.validate_raw(written)
    assert [r.kind for r in parsed] == ["threshold", "threshold", "change", "anomaly", "absence"]
    assert parsed[1].for_.breaching == 2 and parsed[0].for_ is None and not parsed[0].resolve
    assert parsed[4].window.size_s == 60  # absence: its step, min(for_s, 60)
    # what the job hands its keyed function (model_dump) validates back to the same rules
    assert [Rule.model_validate(r.model_dump(mode="json")) for r in parsed] == parsed
    assert [Rule.model_validate(r.model_dump(mode="json", by_alias=True)) for r in parsed] == parsed


def test_history_rules_get_every_window_row_and_plain_thresholds_only_breaches():
    sql = rules.compile_rules(rules.validate_raw([RULE, {**RULE, "name": "held", "resolve": True}, ABSENCE]))
    assert "metric = 'temperature' AND high > 90.0 THEN" in sql           # plain threshold: breaches only
    assert "ROW('held', CASE WHEN metric = 'temperature' THEN CAST(high AS DOUBLE) END" in sql
    assert "ROW('silent', CASE WHEN metric = 'temperature' THEN CAST(n AS DOUBLE) END, a.first_seen, a.last_seen)" in sql
    # the three rules read the same one-minute windows: one aggregation
    assert sql.count("FROM TABLE(TUMBLE(") == 1 and "MIN(rowtime)" in sql


def _alert(r, minute, status="firing", **over):
    t = datetime(2026, 11, 1, 10, minute, tzinfo=timezone.utc)
    a = alerts.Alert.of(r, "sensor-008", t, t + timedelta(minutes=1), over.pop("observed", 118.8642), 30)
    return a


def test_resolved_notice_shares_the_group_and_has_its_own_deterministic_id():
    r = rule(resolve=True)
    a = _alert(r, 1)
    t = datetime(2026, 11, 1, 10, 4, tzinfo=timezone.utc)
    done = a.resolved(t, t + timedelta(minutes=1), 42.0, 30)
    assert a.group_id == a.alert_id == done.group_id and done.alert_id != a.alert_id and done.status == "resolved"
    assert done.alert_id == a.resolved(t, t + timedelta(minutes=1), 42.0, 30).alert_id
    assert done.sms_text() == "RESOLVED hot sensor-008: temperature 42 no longer > 90 at 10:05Z"
    assert done.email_subject() == "[RESOLVED] hot on sensor-008" and a.group_id in done.email_text()
    assert json.loads(json.loads(done.sns_message())["sqs"])["group_id"] == a.alert_id
    assert done.sns_attributes()["status"]["StringValue"] == "resolved"


def test_texts_of_each_kind_fit_an_sms():
    kinds = rules.validate_raw([CHANGE, ANOMALY, ABSENCE])
    t = datetime(2026, 11, 1, 10, 1, 2, tzinfo=timezone.utc)
    texts = [alerts.Alert.of(kinds[0], "s-1", t, t + timedelta(minutes=1), -12.5, 30).sms_text(),
             alerts.Alert.of(kinds[1], "s-1", t, t + timedelta(minutes=1), 35.2, 30, comparison=">",
                             threshold=28.125).sms_text(),
             alerts.Alert.of(kinds[2], "s-1", t, t + timedelta(minutes=2), 120, 0, comparison=">", threshold=120).sms_text()]
    assert texts == ["CRITICAL jump s-1: temperature change -12.5 > 90 at 10:02Z",
                     "INFO odd s-1: temperature 35.2 vs baseline > 28.12 at 10:02Z",
                     "WARNING silent s-1: no temperature for 120s since 10:01:02Z at 10:03Z"]
    long = alerts.Alert.of(kinds[2], "s-" + "x" * 200, t, t, 120, 0, comparison=">", threshold=120)
    assert len(long.sms_text()) <= alerts.SMS_MAX and len(long.resolved(t, t, 5, 1).sms_text()) <= alerts.SMS_MAX


def test_reference_lifecycle_never_resolves_what_it_did_not_fire_and_flapping_is_bounded():
    """A sensor that flaps every minute for an hour: with resolve and a 10-minute cooldown, at most
    one firing/resolved pair per cooldown, every resolved after its own firing."""
    r = rule(name="flappy", resolve=True, cooldown_s=600)
    events = [fd.envelope(i, "t-9", "temperature", 99.0 if i % 2 == 0 else 20.0, fd.T0 + timedelta(minutes=i))
              for i in range(60)]
    res = reference.evaluate(events, [r], 5)
    firing = [a for a in res.alerts if a.status == "firing"]
    resolved = [a for a in res.alerts if a.status == "resolved"]
    assert len(firing) == len(resolved) == 6 and len(res.suppressed) == 30 - 6
    assert all(f.alert_id == s.group_id and f.window_start < s.window_start for f, s in zip(firing, resolved))


def test_demo_summary_counts_alerts_by_kind_and_resolved():
    from tests.support import kinds_data as kd
    from vigia.local import expected_alerts

    res = reference.evaluate(kd.timeline(), kd.KIND_RULES, kd.BOUND_S)
    delivered = [a.to_dict() for a in res.alerts]
    summary = expected_alerts.kinds_summary(delivered)
    assert summary == expected_alerts.kinds_summary(res.alerts)
    assert set(summary["alerts_by_kind"]) == {"threshold", "change", "anomaly", "absence"}
    assert summary["alerts_resolved"] == sum(a.status == "resolved" for a in res.alerts) > 0
    assert sum(summary["alerts_by_kind"].values()) + summary["alerts_resolved"] == len(res.alerts)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_m_of_n_fires_like_cloudwatch_datapoints_to_alarm(seed):
    """One reading a minute, breaking the rule at random: an alert for each minute that breaks it
    while at least M of the last N minutes (itself included) did, restated here from the pattern."""
    import random

    rng = random.Random(seed)
    pattern = [rng.random() < 0.5 for _ in range(80)]
    r = rule(name="held", cooldown_s=0, **{"for": {"windows": 4, "breaching": 3}})
    events = [fd.envelope(i, "t-9", "temperature", 99.0 if hot else 20.0, fd.T0 + timedelta(minutes=i, seconds=5))
              for i, hot in enumerate(pattern)]
    fired = [a.window_start for a in reference.evaluate(events, [r], 5).alerts]
    want = [i for i, hot in enumerate(pattern) if hot and sum(pattern[max(0, i - 3): i + 1]) >= 3]
    assert fired == [(fd.T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:00.000Z") for i in want]


def _minutes(values: dict[int, float]) -> list[dict]:
    return [fd.envelope(i, "t-9", "temperature", v, fd.T0 + timedelta(minutes=i, seconds=5)) for i, v in values.items()]


def _at(i: int) -> str:
    return (fd.T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:00.000Z")


def test_change_rate_is_per_second_between_the_entitys_consecutive_windows():
    import random

    rng = random.Random(5)
    values = {i: round(rng.uniform(0, 100), 3) for i in range(60) if rng.random() < 0.7}  # minutes with gaps
    r = Rule.model_validate({**CHANGE, "change": "rate", "comparison": ">", "threshold": 0.5, "cooldown_s": 0})
    res = reference.evaluate(_minutes(values), [r], 5)
    minutes = sorted(values)
    want = [(_at(b), (values[b] - values[a]) / ((b - a) * 60)) for a, b in zip(minutes, minutes[1:])
            if (values[b] - values[a]) / ((b - a) * 60) > 0.5]
    assert [(a.window_start, round(a.observed, 9)) for a in res.alerts] == [(t, round(v, 9)) for t, v in want]


def test_anomaly_judges_against_the_last_k_windows_after_the_warm_up():
    import random
    import statistics

    rng = random.Random(6)
    values = {i: round(rng.gauss(20, 2) + (15 if rng.random() < 0.1 else 0), 3) for i in range(80)}
    r = Rule.model_validate({**ANOMALY, "baseline": {"windows": 8, "deviations": 2.5, "warmup": 4, "direction": "above"}})
    res = reference.evaluate(_minutes(values), [r], 5)
    want = []
    for i in range(80):
        hist = [values[j] for j in range(max(0, i - 8), i)]
        if len(hist) >= 4 and values[i] > statistics.fmean(hist) + 2.5 * statistics.pstdev(hist):
            want.append(_at(i))
    assert want and [a.window_start for a in res.alerts] == want
