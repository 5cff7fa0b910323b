"""Rule kinds of issue #14 on the Flink mini-cluster: M-of-N, change (difference and rate), anomaly,
absence, and the resolved notices, equal to the reference evaluator.

The first run reads a bounded file (its end is the maximal watermark: every window closes and every
absence deadline still pending fires, as for a stream that stays quiet). The second reads an
unbounded (monitored) directory that goes quiet: the watermark stops, so only the wall-clock path
of the absence rule can report the sensor that was still reporting when the stream stopped.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flink_app import reference
from flink_app.properties import JobSettings
from tests.integration.test_flink_rules_job import pipeline
from tests.support import flink_data as fd
from tests.support import kinds_data as kd

pyflink = pytest.importorskip("pyflink")
pytestmark = pytest.mark.integration


collect = fd.collect


def view(alerts) -> list[tuple]:
    return sorted((a["alert_id"], a["group_id"], a["status"], a["rule_kind"], a["rule"], a["entity_id"],
                   a["window_start"], a["window_end"], a["event_count"], round(a["observed"], 6),
                   a["comparison"], round(a["threshold"], 6)) for a in alerts)


@pytest.fixture(scope="module")
def kinds_run(tmp_path_factory):
    events = kd.timeline()
    src = fd.write_jsonl(events, tmp_path_factory.mktemp("kinds-src") / "events.json")
    p = pipeline()
    rows = collect(p, JobSettings(region=p.region, source_connector="filesystem", source_path=str(src), sink="collect"),
                   kd.KIND_RULES)
    return rows, reference.evaluate(events, kd.KIND_RULES, kd.BOUND_S)


def test_every_kind_and_resolved_notice_equals_the_reference(kinds_run):
    rows, expected = kinds_run
    got = [r for r in rows if r["kind"] == "alert"]
    assert view(got) == view(a.to_dict() for a in expected.alerts)
    # the data exercises every kind, both statuses, and every rule
    assert {(a["rule_kind"], a["status"]) for a in got} >= {
        (k, "firing") for k in ("threshold", "change", "anomaly", "absence")} | {
        (k, "resolved") for k in ("threshold", "change", "anomaly", "absence")}
    assert {a["rule"] for a in got} == {r.name for r in kd.KIND_RULES}
    assert len(got) == len({a["alert_id"] for a in got}), "an alert was emitted twice"


def test_a_resolved_notice_follows_its_own_firing(kinds_run):
    rows, expected = kinds_run
    got = [r for r in rows if r["kind"] == "alert"]
    firing = {a["alert_id"]: a for a in got if a["status"] == "firing"}
    for r in (a for a in got if a["status"] == "resolved"):
        f = firing[r["group_id"]]                     # no resolved without a firing
        assert (f["rule"], f["entity_id"]) == (r["rule"], r["entity_id"]) and f["window_start"] < r["window_start"]
    # a firing the cooldown suppressed opened no incident: nothing resolves it
    assert expected.suppressed and not {a.alert_id for a in expected.suppressed} & {r["group_id"] for r in got}


def test_absence_fires_when_the_whole_stream_goes_quiet(tmp_path):
    """h-0 stops mid-stream (event time decides: the others move the watermark past its deadline);
    h-1 reports until the stream stops, so no watermark ever passes its deadline: the wall-clock
    path fires it once the watermark has not moved for for_s."""
    events = [e for e in kd.timeline(minutes=3) if e["metric"] == "humidity"
              and not (e["entity_id"] == "h-0" and reference.event_ms(e) > fd.T0.timestamp() * 1000 + 60_000)]
    src = fd.write_jsonl(events, tmp_path / "src" / "events.json")
    p = pipeline(parallelism=1, idle_timeout_s=1)
    last = max(reference.event_ms(e) for e in events)
    wm = datetime.fromtimestamp((last - fd.BOUND_S * 1000) / 1000, tz=timezone.utc)
    by_time = reference.evaluate(events, kd.QUIET_RULES, fd.BOUND_S, final_watermark=wm)
    expected = reference.evaluate(events, kd.QUIET_RULES, fd.BOUND_S, final_watermark=wm, quiet=True)
    assert {a.entity_id for a in by_time.alerts} == {"h-0"} and {a.entity_id for a in expected.alerts} == {"h-0", "h-1"}
    want = expected.alert_ids
    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(src.parent),
                    source_monitor_s=1, sink="collect")
    rows = collect(p, s, kd.QUIET_RULES, until=lambda rows: want <= {r.get("alert_id") for r in rows}, timeout_s=180)
    assert view(r for r in rows if r["kind"] == "alert") == view(a.to_dict() for a in expected.alerts)


def test_simulator_kind_anomalies_through_the_job_equal_the_reference(tmp_path):
    """The simulator's sensor that stops, slow drift and step change (kind_anomalies), one rule of
    each kind over them, in the simulator's own arrival order: the job equals the reference."""
    events = kd.simulator_events()
    src = fd.write_jsonl(events, tmp_path / "sim" / "events.json")
    p = pipeline()
    rows = collect(p, JobSettings(region=p.region, source_connector="filesystem", source_path=str(src), sink="collect"),
                   kd.SIMULATOR_RULES)
    expected = reference.evaluate(events, kd.SIMULATOR_RULES, kd.BOUND_S)
    got = [r for r in rows if r["kind"] == "alert"]
    assert view(got) == view(a.to_dict() for a in expected.alerts)
    assert {a["rule"] for a in got} == {r.name for r in kd.SIMULATOR_RULES}
    assert {r["event_id"] for r in rows if r["kind"] == "late"} == {e["event_id"] for e in expected.late}
