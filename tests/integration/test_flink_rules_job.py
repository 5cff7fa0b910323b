"""The compiled rule job on the Flink mini-cluster, fed by JSON-lines files in a known arrival order.

One job run covers tumbling and hopping windows, every aggregate, source/entity filters, events out
of order within the bound, late events beyond it, invalid rows, cooldown and several rules at once;
its output is compared with the reference evaluator's. A second run checks that an idle partition
does not stall the windows.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest

from flink_app import reference
from flink_app.properties import JobSettings
from tests.support import flink_data as fd
from vigia.local.variants import with_settings
from vigia_core import config

pyflink = pytest.importorskip("pyflink")
pytestmark = pytest.mark.integration


def pipeline(parallelism: int = 1, idle_timeout_s: int = 10) -> config.Pipeline:
    return with_settings(config.load(), "flink", parallelism=parallelism, idle_timeout_s=idle_timeout_s,
                         out_of_orderness_s=fd.BOUND_S)


def collect(p: config.Pipeline, s: JobSettings, until=None, timeout_s: float = 240) -> list[dict]:
    return fd.collect(p, s, fd.RULES, until, timeout_s)


def alert_view(alerts) -> list[tuple]:
    return sorted((a["alert_id"], a["rule"], a["entity_id"], a["window_start"], a["window_end"],
                   a["event_count"], round(a["observed"], 6), a["severity"]) for a in alerts)


@pytest.fixture(scope="module")
def bounded_run(tmp_path_factory):
    events, marks = fd.timeline()
    src = fd.write_jsonl(events, tmp_path_factory.mktemp("flink-src") / "events.json")
    p = pipeline()
    rows = collect(p, JobSettings(region=p.region, source_connector="filesystem", source_path=str(src), sink="collect"))
    expected = reference.evaluate(events, fd.RULES, fd.BOUND_S)
    return rows, expected, marks, events


def test_alerts_match_reference_for_every_rule_shape(bounded_run):
    rows, expected, _, _ = bounded_run
    got = [r for r in rows if r["kind"] == "alert"]
    assert alert_view(got) == alert_view(a.to_dict() for a in expected.alerts)
    # The data exercises every rule: tumble and hop, each aggregate, entity and source filters.
    assert {a["rule"] for a in got} == {r.name for r in fd.RULES}
    assert {r.aggregate for r in fd.RULES} == {"count", "sum", "avg", "min", "max"}
    assert len(got) == len({a["alert_id"] for a in got}), "an alert was emitted twice"


def test_out_of_order_events_within_bound_are_aggregated(bounded_run):
    rows, expected, marks, events = bounded_run
    stored = {r["event_id"] for r in rows if r["kind"] in ("late", "invalid")}
    assert marks["out_of_order"] and not marks["out_of_order"] & stored
    # Windows count them: the per-window event counts equal the reference's, which includes them.
    assert sum(a.event_count for a in expected.alerts) == sum(r["event_count"] for r in rows if r["kind"] == "alert")


def test_late_events_are_routed_out_not_dropped(bounded_run):
    rows, expected, marks, _ = bounded_run
    late = {r["event_id"] for r in rows if r["kind"] == "late"}
    assert late == marks["late"] == {e["event_id"] for e in expected.late}
    # The late 99 degree spike on t-1 would have raised an alert had it been aggregated.
    assert not any(r["kind"] == "alert" and r["entity_id"] == "t-1" and r["rule"] == "hot_max" for r in rows)


def test_every_event_ends_in_exactly_one_place(bounded_run):
    rows, expected, marks, events = bounded_run
    invalid = [r for r in rows if r["kind"] == "invalid"]
    # stored with the reason and the original bytes, under a key unique per record
    assert {json.loads(base64.b64decode(r["data_base64"]))["event_id"] for r in invalid} == marks["invalid"]
    assert {r["reason_code"] for r in invalid} == {"value.type", "event_time.required", "source.required"}
    assert len({r["record_key"] for r in invalid}) == len(invalid)
    late = [r for r in rows if r["kind"] == "late"]
    assert len(late) == len({r["event_id"] for r in late}) == len(marks["late"])
    assert expected.on_time + len(late) + len(invalid) == len(events)


def test_cooldown_suppresses_repeats_for_the_same_entity(bounded_run):
    rows, expected, _, _ = bounded_run
    hot = sorted(r["window_start"] for r in rows if r["kind"] == "alert" and r["rule"] == "hot_max")
    # Spikes in minutes 1, 2 and 4 with a 120 s cooldown: minute 2 is suppressed.
    assert hot == ["2026-11-01T10:01:00.000Z", "2026-11-01T10:04:00.000Z"]
    assert [a.window_start for a in expected.suppressed] == ["2026-11-01T10:02:00.000Z"]


def test_idle_partition_does_not_stall_windows(tmp_path):
    """Two source subtasks, one file: one subtask never gets data. With the idle timeout the
    windows still fire as the other partition's watermark advances (unbounded source)."""
    events, _ = fd.timeline(minutes=3)
    src = fd.write_jsonl(events, tmp_path / "src" / "events.json")
    p = pipeline(parallelism=2, idle_timeout_s=1)
    last = max(reference.event_ms(e) for e in events if reference.event_ms(e) is not None)
    wm = datetime.fromtimestamp((last - fd.BOUND_S * 1000) / 1000, tz=timezone.utc)
    expected = reference.evaluate(events, fd.RULES, fd.BOUND_S, final_watermark=wm)
    want = expected.alert_ids
    assert want, "the timeline must produce alerts before its end"
    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(src.parent),
                    source_monitor_s=1, sink="collect")
    rows = collect(p, s, until=lambda rows: want <= {r.get("alert_id") for r in rows}, timeout_s=180)
    assert {r["alert_id"] for r in rows if r["kind"] == "alert"} == want


def test_duplicates_and_a_far_future_event_change_nothing(tmp_path):
    """The same timeline with every h-1 humidity reading delivered 5 times (at-least-once) and one
    event stamped 2099 early on: the same alerts as the clean timeline (the count rule does not see
    the copies, the far-future event is invalid and moves no watermark, so nothing after it is
    late), and the counts per route add up to every record read."""
    events, marks = fd.timeline(minutes=6)
    noisy = []
    for e in events:
        noisy += [e] * (5 if e.get("entity_id") == "h-1" else 1)
    future = fd.envelope(90_010, "t-0", "temperature", 99.0, datetime(2099, 1, 1, tzinfo=timezone.utc))
    noisy.insert(30, future)
    src = fd.write_jsonl(noisy, tmp_path / "src" / "events.json")
    p = pipeline(parallelism=1, idle_timeout_s=1)
    last = max(reference.event_ms(e) for e in events if reference.event_ms(e) is not None)
    wm = datetime.fromtimestamp((last - fd.BOUND_S * 1000) / 1000, tz=timezone.utc)
    want = reference.evaluate(events, fd.RULES, fd.BOUND_S, final_watermark=wm)
    assert any(a.rule == "busy_count" for a in want.alerts), "the count rule must fire on the clean data"

    def counted(rows, routes=("on_time", "late", "invalid", "duplicate")):
        return sum(r["records"] for r in rows if r["kind"] == "count" and r["route"] in routes)

    def done(rows):  # every record counted, every dropped one received (the two come on different channels)
        dropped = sum(1 for r in rows if r["kind"] in ("late", "invalid"))
        return (counted(rows) == len(noisy) and dropped == counted(rows, ("late", "invalid"))
                and want.alert_ids <= {r.get("alert_id") for r in rows})
    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(src.parent),
                    source_monitor_s=1, sink="collect")
    rows = collect(p, s, until=done, timeout_s=240)
    by_route = {}
    for r in rows:
        if r["kind"] == "count":
            by_route[r["route"]] = by_route.get(r["route"], 0) + r["records"]
    # the same alerts, with the same counts and values (a count of 75 would have the same alert_id)
    assert alert_view(r for r in rows if r["kind"] == "alert") == alert_view(a.to_dict() for a in want.alerts)
    assert by_route["duplicate"] == 4 * sum(1 for e in events if e.get("entity_id") == "h-1")
    assert by_route["invalid"] == len(marks["invalid"]) + 1
    assert {r["event_id"] for r in rows if r["kind"] == "late"} == {e["event_id"] for e in want.late}
    assert sum(by_route.values()) == len(noisy)


def test_every_branch_reads_one_dedup(tmp_path):
    """The dedup's keyed state is the job's costliest step: the alerts, the dropped records and the
    counts must read the same one (a count branch that asked for `reason` instead of `is_invalid`
    once made the planner build a second dedup, with its own exchange of every record), over one
    scan of the source. Every record crosses one exchange (to the dedup): the only others carry the
    windows' partial aggregates and the job's output (a count per route and second, from the
    dedup, where a processing-time window had every record cross a second exchange)."""
    from pyflink.datastream import StreamExecutionEnvironment

    from flink_app import job

    p = pipeline(parallelism=2)
    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(tmp_path), sink="collect")
    env = StreamExecutionEnvironment.get_execution_environment(job.configure(p, s))
    job.build(env, p, s, fd.RULES)
    nodes = json.loads(env.get_execution_plan())["nodes"]
    dedup = [n for n in nodes if n["type"].startswith("FirstSeen")]
    assert len(dedup) == 1, nodes
    assert len([n for n in nodes if n["type"].startswith("Source:")]) == 1, nodes
    hashed = [n["type"] for n in nodes for i in n.get("predecessors", []) if i["ship_strategy"] == "HASH"]
    assert [t for t in hashed if not t.startswith(("FirstSeen", "GlobalWindowAggregate", "KEYED PROCESS"))] == [], hashed
    assert hashed.count("KEYED PROCESS") == 1 and any(t.startswith("GlobalWindowAggregate") for t in hashed), hashed
