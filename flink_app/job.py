"""The real-time job: Kinesis -> validation in the JVM -> compiled rule SQL -> cooldown -> SNS.

Layout of the one job (flink_app/README.md has the why):
  table `source_events` (the Kinesis connector; a JSON-lines file or directory for tests and the
    benchmark): each record's text (`raw` format), where it came from, its arrival time; `rowtime`
    = event time of a record that passes every check (VIGIA_CHECK, flink_app/validation.py), else
    epoch 0
  view `flagged`: invalid (reason code) or late (the window step would drop it), in the source's
    chain; then the dedup by event_id (FirstSeen, a keyed Java operator in the job's jar)
  view `routed`: exactly one route per record: invalid, duplicate, late or on_time; the rule
    fields are read from valid records only
  view `events` (on-time rows) -> compiled rules (window TVFs, UNION ALL)
  ONE query: alert rows UNION ALL late/invalid rows (one scan of the source, one watermark)
  -> keyed Python function: cooldown for alerts (keyed state), dropped rows as tagged JSON
  -> Deliver: publish alerts to SNS (retries, then the DLQ), store and count dropped records.
Tests and the benchmark collect the tagged JSON stream from `build` instead of delivering it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pyflink.common import Configuration, Types
from pyflink.datastream import KeyedProcessFunction, MapFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment, Table

from flink_app import rules as rules_mod
from flink_app import validation
from flink_app.properties import JobSettings
from vigia_core.config import Pipeline
from vigia_core.contract.checks import Limits

# The record's text (the `raw` format decodes UTF-8; bytes that are not UTF-8 become U+FFFD, which
# the checks reject).
LINE = "`line`"
METRICS_GROUP = "kinesisanalytics"  # the group Managed Flink exports to CloudWatch


def source_ddl(s: JobSettings, p: Pipeline) -> str:
    """The stream's records as bytes (the `raw` format: nothing is coerced or skipped), where each
    came from, its arrival time, and the event-time attribute.

    `rowtime` is the event time of a record that passes every check (contract and gold rules), and
    epoch 0 for any other record: an invalid or far-future record can never move the watermark."""
    cols = ["  `line` STRING"]
    if s.source_connector == "kinesis":
        cols += ["  arrival TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL",
                 "  shard_id STRING METADATA FROM 'shard-id' VIRTUAL",
                 "  sequence_number STRING METADATA FROM 'sequence-number' VIRTUAL"]
    else:  # files (tests, benchmark): arrival = the file's modification time
        cols += ["  arrival TIMESTAMP_LTZ(3) METADATA FROM 'file.modification-time' VIRTUAL",
                 "  file_path STRING METADATA FROM 'file.path' VIRTUAL"]
    verdict = validation.check_sql(Limits.of(p), LINE, "arrival")
    cols.append(f"  rowtime AS TO_TIMESTAMP_LTZ(COALESCE({verdict}.event_ms, 0), 3)")
    cols.append(f"  WATERMARK FOR rowtime AS rowtime - INTERVAL '{p.flink.out_of_orderness_s}' SECOND")
    options = {"format": "raw"}
    if s.source_connector == "kinesis":
        poll = f"{p.flink.poll_interval_ms} ms"  # the connector's defaults are 1 s
        options.update({"connector": "kinesis", "stream.arn": s.stream_arn, "aws.region": s.region,
                        "source.init.position": s.init_position,
                        "source.reader.nonempty-records-fetch-interval": poll,
                        "source.reader.empty-records-fetch-interval": poll})
        if s.init_timestamp:
            options["source.init.timestamp"] = s.init_timestamp
        if s.aws_endpoint:  # the local runtime: moto with static test credentials
            options.update({"aws.endpoint": s.aws_endpoint, "aws.trust.all.certificates": "true",
                            "aws.credentials.provider": "BASIC",
                            "aws.credentials.provider.basic.accesskeyid": "testing",
                            "aws.credentials.provider.basic.secretkey": "testing"})
    elif s.source_connector == "filesystem":
        options.update({"connector": "filesystem", "path": Path(s.source_path).resolve().as_uri()})
        if s.source_monitor_s:
            options["source.monitor-interval"] = f"{s.source_monitor_s} s"
    else:
        raise ValueError(f"source.connector must be kinesis or filesystem, got {s.source_connector!r}")
    with_clause = ",\n".join(f"  '{k}' = '{v}'" for k, v in options.items())
    return "CREATE TABLE source_events (\n" + ",\n".join(cols) + f"\n) WITH (\n{with_clause}\n)"


def record_key_sql(s: JobSettings) -> str:
    """Unique per record read: shard and sequence number (in tests: the file and the record's hash)."""
    if s.source_connector == "kinesis":
        return "CONCAT(shard_id, '-', sequence_number)"
    return "CONCAT(REGEXP_EXTRACT(file_path, '([^/]*)$', 1), '-', SUBSTR(SHA256(`line`), 1, 32))"


def origin_columns(s: JobSettings) -> str:
    """The source's columns `record_key_sql` reads."""
    return "shard_id, sequence_number" if s.source_connector == "kinesis" else "file_path"


def late_sql(rules: list) -> str:
    """TRUE when the window step would drop the row: the earliest-ending window of the rules its
    metric feeds has ended (end - 1 ms <= watermark, the window operator's own test). A row that
    feeds no rule is late when rowtime <= watermark."""
    wm = "CURRENT_WATERMARK(rowtime)"
    shapes: dict[str, set[tuple[int, int]]] = {}
    for r in rules:
        shapes.setdefault(r.metric, set()).add((r.window.size_s * 1000, (r.window.slide_s or r.window.size_s) * 1000))
    t = "event_ms"  # rowtime in epoch milliseconds, from the checks' verdict
    whens = []
    for metric, windows in sorted(shapes.items()):
        # windows [k*slide, k*slide + size) hold t; the earliest ends at the first multiple of slide
        # above t - size, plus size. Integer arithmetic (a DECIMAL division per record cost 5 % of
        # the job); t - size >= 0 for any event the age check lets through, so MOD is the floor's.
        ends = [f"({t} - {size} - MOD({t} - {size}, {slide}) + {slide + size})" for size, slide in sorted(windows)]
        end = ends[0] if len(ends) == 1 else f"LEAST({', '.join(ends)})"
        whens.append(f"WHEN {rules_mod.sql_literal(metric)} THEN TO_TIMESTAMP_LTZ({end} - 1, 3) <= {wm}")
    return f"({wm} IS NOT NULL AND CASE `metric` {' '.join(whens)} ELSE rowtime <= {wm} END)"


def routed_views(s: JobSettings, p: Pipeline, rules: list) -> tuple[list[str], str]:
    """Exactly one route per record: invalid (reason = code of the first failing check), duplicate
    (a valid record whose event_id was seen before, flink_app/connector's FirstSeen: keyed state
    that forgets an id `state_ttl_ms` to twice that after it was last seen), late (the window step
    would drop it) or on_time. The rule fields come from valid records only.

    Returns the views before the dedup (`flagged`: is_invalid, is_late) and the view after it
    (`routed`), over table `deduped` (`flagged` + the route FirstSeen decides: see `declare_tables`).

    One branch for every record (no UNION): the planner then reads the source through one chain of
    operators, where a second branch had it repeat the checks and the watermark step. The late test
    runs in the source's chain, before the dedup's exchange, so that only a late or invalid record
    carries its text (`payload`) through the job: an on-time row is a few fields. A watermark
    follows the records sent before it on every channel and the windows take the minimum over
    their channels, so an event routed on_time is never dropped by a window. With one source
    subtask (the default: it reads every shard, with per-shard watermarks) both see the same
    watermark; with several, an event can be stored late against its own subtask's watermark
    slightly before the windows would drop it (stored, never lost). A duplicate that is also late
    is counted as a duplicate."""
    fields = ", ".join(f"v.`{f}` AS `{f}`" for f in ("event_ms", *rules_mod.EVENT_FIELDS) if f != "event_time")
    # what leaves the source's chain for every record (the dedup's exchange): no more than the rules
    # and the routes read (event_ms served the late test, before it; source only for a rule on it)
    source = "source, " if any(r.source is not None for r in rules) else ""
    cols = f"rowtime, event_id, {source}entity_id, metric, `value`"
    # the record key only inside the CASE of the rare rows that need it (a column of its own was
    # computed for every record: a SHA-256 of each line in the tests' file source)
    key = record_key_sql(s)
    payload = "JSON_OBJECT(" + ", ".join(f"KEY '{k}' VALUE {v}" for k, v in dropped_fields(key).items()) + ")"
    views = [
        f"CREATE TEMPORARY VIEW checked AS\n"
        f"SELECT `line`, arrival, rowtime, v.reason AS reason, {fields}, {origin_columns(s)}\n"
        f"FROM (SELECT *, {validation.check_sql(Limits.of(p), LINE, 'arrival')} AS v FROM source_events)",
        "CREATE TEMPORARY VIEW flagged AS\n"
        f"SELECT {cols}, reason IS NOT NULL AS is_invalid, is_late,\n"
        f"  CASE WHEN reason IS NOT NULL OR is_late THEN {payload} END AS payload\n"
        f"FROM (SELECT *, reason IS NULL AND {late_sql(rules)} AS is_late FROM checked)",
    ]
    routed = f"CREATE TEMPORARY VIEW routed AS\nSELECT {cols}, route, payload FROM deduped"
    return views, routed


def state_ttl_ms(p: Pipeline, rules: list) -> int:
    """How long an event_id is remembered at least (FirstSeen keeps it up to twice that): the longest
    window plus the out-of-orderness bound (a duplicate arriving later is late anyway), plus one
    checkpoint interval of slack."""
    return (rules_mod.max_window_s(rules) + p.flink.out_of_orderness_s + p.flink.checkpoint_interval_s) * 1000


EVENTS_VIEW = "CREATE TEMPORARY VIEW events AS SELECT * FROM routed WHERE route = 'on_time'"


TIME_TEXT = "DATE_FORMAT({}, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')"


def dropped_fields(record_key: str) -> dict[str, str]:
    """What a late or invalid record is stored with: where it came from, why, and its original bytes."""
    return {"record_key": record_key, "reason_code": "reason", "event_id": "event_id",
            "event_time": f"CASE WHEN reason IS NULL THEN {TIME_TEXT.format('rowtime')} END",
            "arrival": TIME_TEXT.format("arrival"), "data_base64": "TO_BASE64(ENCODE(`line`, 'UTF-8'))"}


def output_sql(rules_query: str) -> str:
    """Alerts and dropped (late, invalid) records as ONE query over ONE scan of the source, so both
    see the same watermark and every record ends in exactly one of them. Common schema:
    kind, rule, entity_id, metric, window_start, window_end, observed, event_count, payload."""
    none = "CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS TIMESTAMP(3)), CAST(NULL AS TIMESTAMP(3)), "
    return (f"SELECT 'alert' AS kind, rule, entity_id, metric, window_start, window_end, observed, event_count, "
            f"CAST(NULL AS STRING) AS payload FROM (\n{rules_query}\n)\nUNION ALL\n"
            f"SELECT route, CAST(NULL AS STRING), entity_id, metric, CAST(NULL AS TIMESTAMP(3)), "
            f"CAST(NULL AS TIMESTAMP(3)), CAST(NULL AS DOUBLE), CAST(NULL AS BIGINT), payload "
            f"FROM routed WHERE route IN ('late', 'invalid')\nUNION ALL\n"
            # Every record counted once by route, by FirstSeen, once a second: the counters' source
            # (a trickle into Python; duplicates are only counted, not stored).
            f"SELECT 'count', route, {none}CAST(NULL AS DOUBLE), records, CAST(NULL AS STRING) FROM route_counts")


def configure(p: Pipeline, s: JobSettings, jars: list[str] | None = None, local: bool = True) -> Configuration:
    """The job's configuration. `jars` default locally to the build's jar (the check function and
    the Kinesis source); on the service the application's `jarfile` is on the classpath."""
    if jars is None and local:
        jars = default_jars()
    conf = Configuration()
    if local:  # on the service, the application's parallelism setting (from the CDK app) applies
        conf.set_string("parallelism.default", str(p.flink.parallelism))
    conf.set_string("table.local-time-zone", "UTC")
    conf.set_string("table.exec.source.idle-timeout", f"{p.flink.idle_timeout_s} s")
    conf.set_string("pipeline.auto-watermark-interval", f"{p.flink.watermark_interval_ms} ms")
    conf.set_string("pipeline.object-reuse", "true")  # no defensive copies between chained operators
    # The Python operator sees only alerts and dropped events (a trickle): flush its bundles often,
    # so an alert waits at most 100 ms there (the default waits up to 1 s).
    conf.set_string("python.fn-execution.bundle.time", "100")
    # Rules with history read two states per (rule, entity) for every window row. With the default
    # cache (1,000 entries) fewer than the keys, every read missed: a round trip to the JVM that
    # cost the all-kinds job a third of its throughput (docs/benchmarks.md).
    conf.set_string("python.state.cache-size", str(p.flink.python_state_cache_entries))
    # In AWS the application's CheckpointConfiguration (written by the CDK app from the same keys)
    # applies. Locally only with a checkpoint folder: without one the checkpoints would go to the
    # JobManager's memory (5 MB at most), which the dedup state of a long run outgrows, and the job
    # would restart in a loop (tests and the benchmark run without).
    if local and s.checkpoint_dir:
        conf.set_string("execution.checkpointing.interval", f"{p.flink.checkpoint_interval_s} s")
        conf.set_string("execution.checkpointing.min-pause", f"{p.flink.min_pause_between_checkpoints_s} s")
        conf.set_string("execution.checkpointing.mode", "EXACTLY_ONCE")
    if jars:
        conf.set_string("pipeline.jars", ";".join(Path(j).resolve().as_uri() for j in jars))
    if s.checkpoint_dir:
        conf.set_string("execution.checkpointing.dir", s.checkpoint_dir)
        conf.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    if s.restore_from:
        conf.set_string("execution.state-recovery.path", s.restore_from)
    if local:  # the mini-cluster listens on the loopback interface only (REST, RPC, blob, data ports)
        for key in ("rest.address", "rest.bind-address", "jobmanager.rpc.address", "jobmanager.bind-host",
                    "taskmanager.host", "taskmanager.bind-host"):
            conf.set_string(key, "127.0.0.1")
    if local:  # the mini-cluster's Python workers must use this interpreter (and its venv)
        conf.set_string("python.executable", sys.executable)
        conf.set_string("python.client.executable", sys.executable)
    return conf


class CooldownFunction(KeyedProcessFunction):
    """Keyed by (rule, entity): lets an alert through unless the rule's cooldown suppresses it, and
    decides the rules that need history (flink_app/lifecycle.py) from every window row of the key.
    Dropped events (keyed by kind and content) pass through as tagged JSON.

    State per key: the cooldown's last window start (one number, as before), and for rules with
    history a small JSON dict (last N breaches, the previous or last K values, the open incident,
    an absence rule's last report). Absence also needs a clock for keys that get no rows:
    - event-time timers at the deadline and when the entity is forgotten (lifecycle.timers);
    - the rule's own rows: a step window row of ANY entity ending at E means every step window
      ending before E has been delivered (the window operator fires windows in end order), so
      event time is known up to E - step; a processing-time timer per key and step applies it.
      Measured: behind idle sources the watermark did not reach this function (it stayed at
      Long.MIN), while the rows did;
    - quiet: no row of the rule for for_s + one step by vigia_core.clock (the rule's whole input
      stopped, so no event-time progress can come): every entity it expects is absent.
    The rule clock is kept per subtask, not in state: after a restore it starts at the first row."""

    def __init__(self, rule_dicts: list[dict]):
        self.rule_dicts = rule_dicts

    def open(self, ctx: RuntimeContext):
        from vigia_core.config import Rule

        self.rules = {d["name"]: Rule.model_validate(d) for d in self.rule_dicts}
        self.last = ctx.get_state(ValueStateDescriptor("last_alert_window_start", Types.DOUBLE()))
        self.history = ctx.get_state(ValueStateDescriptor("rule_state", Types.STRING()))
        self.suppressed = ctx.get_metrics_group().add_group(METRICS_GROUP).counter("alertsSuppressed")
        self.clocks: dict[str, tuple[int, float]] = {}  # absence rule -> (latest step end seen, when it moved)

    def process_element(self, row, ctx):
        from flink_app.alerts import admit, from_row
        from flink_app.lifecycle import needs_state

        if row[0] == "count":
            yield json.dumps({"kind": "count", "route": row[1], "records": row[7]}, sort_keys=True)
            return
        if row[0] != "alert":
            yield json.dumps({"kind": row[0], **json.loads(row[8])}, sort_keys=True)
            return
        rule = self.rules[row[1]]
        if needs_state(rule):
            yield from self._decide(rule, row, ctx)
            return
        alert = from_row(rule, row[2], row[3], row[4], row[5], row[6], row[7])
        if admit(self.last.value(), _epoch_s(row[4]), rule.cooldown_s, self.last.update):
            yield json.dumps({"kind": "alert", **alert.to_dict()}, sort_keys=True)
        else:
            self.suppressed.inc()

    def _decide(self, rule, row, ctx):
        from flink_app import lifecycle

        st = json.loads(self.history.value() or "{}")
        start, end = round(_epoch_s(row[4]) * 1000), round(_epoch_s(row[5]) * 1000)
        if rule.kind == "absence":  # start, end: the first and last event time of the step window
            self._tick(rule, lifecycle.due_ms(rule, end) + 1)
            out = lifecycle.on_report(rule, st, row[2], start, end, row[7], self.last.value(), self.last.update)
        else:
            out = lifecycle.on_window(rule, st, row[2], start, end, row[6], row[7], self.last.value(), self.last.update)
        yield from self._emit(rule, st, out, ctx)

    def _tick(self, rule, step_end: int) -> None:
        from vigia_core import clock

        seen = self.clocks.get(rule.name)
        if seen is None or step_end > seen[0]:
            self.clocks[rule.name] = (step_end, clock.now().timestamp())

    def on_timer(self, timestamp, ctx):
        from pyflink.datastream import TimeDomain

        from flink_app import lifecycle
        from vigia_core import clock

        name, entity = ctx.get_current_key().split("|", 1)
        rule = self.rules[name]
        st = json.loads(self.history.value() or "{}")
        if ctx.time_domain() == TimeDomain.EVENT_TIME:
            out = lifecycle.on_clock(rule, st, entity, timestamp, self.last.value(), self.last.update)
        else:
            st.pop("quiet_timer", None)
            out = lifecycle.Decisions()
            seen = self.clocks.get(name)
            if seen is not None:
                known = seen[0] - lifecycle.step_ms(rule) - 1  # every step window ending by then was delivered
                out = lifecycle.on_clock(rule, st, entity, known, self.last.value(), self.last.update)
                if clock.now().timestamp() - seen[1] >= rule.for_s + rule.window.size_s:
                    quiet = lifecycle.on_quiet(rule, st, entity, self.last.value(), self.last.update)
                    out.alerts += quiet.alerts
                    out.suppressed += quiet.suppressed
        yield from self._emit(rule, st, out, ctx)

    def _emit(self, rule, st, out, ctx):
        from flink_app import lifecycle

        if rule.kind == "absence":
            for t in lifecycle.timers(rule, st):  # the same (key, time) twice is one timer
                ctx.timer_service().register_event_time_timer(t)
            if st.get("seen") is not None and "quiet_timer" not in st:
                st["quiet_timer"] = ctx.timer_service().current_processing_time() + lifecycle.step_ms(rule)
                ctx.timer_service().register_processing_time_timer(st["quiet_timer"])
        if st:
            self.history.update(json.dumps(st, sort_keys=True))
        else:
            self.history.clear()
        for a in out.alerts:
            yield json.dumps({"kind": "alert", **a.to_dict()}, sort_keys=True)
        for _ in out.suppressed:
            self.suppressed.inc()


def _key(row) -> str:
    return f"{row[1]}|{row[2]}" if row[0] == "alert" else f"{row[0]}|{row[1]}|{row[8]}"


def _epoch_s(t) -> float:
    from datetime import timezone

    return (t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t).timestamp()


# Counter names: what the CloudWatch alarms of the CDK app watch (metric group kinesisanalytics).
COUNTERS = {"read": "recordsRead", "on_time": "eventsOnTime", "late": "lateEvents", "invalid": "invalidEvents",
            "duplicate": "duplicateEvents", "published": "alertsPublished", "dead-lettered": "alertsDeadLettered"}


class Deliver(MapFunction):
    """Side effects of the job's output: publish alerts, store and count late/invalid events."""

    def __init__(self, s: JobSettings, p: Pipeline):
        self.s = s
        self.prefix = p.flink.late_events_prefix
        self.max_attempts = p.alerts.publish_max_attempts
        self.limits = Limits.of(p)

    def open(self, ctx: RuntimeContext):
        import boto3

        from flink_app.publisher import Publisher

        endpoint = self.s.aws_endpoint or None
        self.publisher = Publisher(self.s.alert_topic_arn, self.s.alert_dlq_url, self.s.region,
                                   self.max_attempts, endpoint_url=endpoint)
        self.s3 = boto3.client("s3", region_name=self.s.region, **({"endpoint_url": endpoint} if endpoint else {}))
        from vigia_core.contract.checks import checks

        self.reasons = {c.code: c.reason for c in checks(self.limits)}
        group = ctx.get_metrics_group().add_group(METRICS_GROUP)
        self.counters = {k: group.counter(n) for k, n in COUNTERS.items()}

    def map(self, value: str) -> str:
        from flink_app.alerts import Alert

        record = json.loads(value)
        kind = record.pop("kind")
        if kind == "count":  # recordsRead = eventsOnTime + lateEvents + invalidEvents + duplicateEvents
            self.counters["read"].inc(record["records"])
            self.counters[record["route"]].inc(record["records"])
            return f"count {record['route']} {record['records']}"
        if kind == "alert":
            out = self.publisher.publish(Alert(**record))
            self.counters[out.status].inc()
            return f"alert {out.alert_id} {out.status} after {out.attempts} attempt(s): {out.detail}"
        if record.get("reason_code"):
            record["reason"] = f"{record['reason_code']}: {self.reasons.get(record['reason_code'], '')}"
        key = dropped_key(self.prefix, kind, record)
        self.s3.put_object(Bucket=self.s.late_bucket, Key=key, Body=json.dumps(record, sort_keys=True).encode(),
                           ContentType="application/json")
        return f"{kind} event stored at s3://{self.s.late_bucket}/{key}"


def dropped_key(prefix: str, kind: str, record: dict) -> str:
    """Deterministic object name per record, so a replay after a restart overwrites, never doubles:
    a late event by its event_id under its event day, an invalid record by its record key (shard and
    sequence number: unique per record read) under its arrival day."""
    if kind == "late":
        day, name = record["event_time"][:10], record["event_id"]
    else:
        day, name = record["arrival"][:10], record["record_key"]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))
    return f"{prefix}{kind}/dt={day}/{safe}.json"


def declare_tables(t_env: StreamTableEnvironment, p: Pipeline, s: JobSettings, rules: list) -> None:
    """The check function, the source and the routing views (`routed`, `events`) on `t_env`."""
    t_env.create_java_temporary_system_function(validation.FUNCTION, validation.FUNCTION_CLASS)
    t_env.execute_sql(source_ddl(s, p))
    flagged, routed = routed_views(s, p, rules)
    for view in flagged:
        t_env.execute_sql(view)
    # The dedup is a keyed Java operator between two SQL parts (`flagged` -> DataStream -> `deduped`,
    # internal rows throughout, the watermarks carried over): SQL's own dedup keeps its state with
    # TTL, whose heap cleanup cost half the SQL part's throughput (docs/decisions.md). It routes
    # each record and counts the routes (`route_counts`), so counting crosses no exchange.
    deduped, counts = get_gateway().jvm.io.vigia.flink.dedup.FirstSeen.apply(
        t_env._j_tenv, t_env.from_path("flagged")._j_table, "event_id", "is_invalid", "is_late", "rowtime",
        state_ttl_ms(p, rules))
    t_env.create_temporary_view("deduped", Table(deduped, t_env))
    t_env.create_temporary_view("route_counts", Table(counts, t_env))
    t_env.execute_sql(routed)
    t_env.execute_sql(EVENTS_VIEW)


def build(env: StreamExecutionEnvironment, p: Pipeline, s: JobSettings, rules: list | None = None):
    """Declare the job on `env`; returns the stream of tagged JSON output records."""
    rules = rules if rules is not None else rules_mod.rules_of(p)
    t_env = StreamTableEnvironment.create(env)
    declare_tables(t_env, p, s, rules)
    rows = t_env.to_data_stream(t_env.sql_query(output_sql(rules_mod.compile_rules(rules))))
    return (rows.key_by(_key, key_type=Types.STRING())
            .process(CooldownFunction([r.model_dump(mode="json") for r in rules]), output_type=Types.STRING()))


def run(p: Pipeline, s: JobSettings, jars: list[str] | None = None, local: bool = True):
    """Build and run the job; with sink=sns it delivers, and prints a line per output record."""
    env = StreamExecutionEnvironment.get_execution_environment(configure(p, s, jars, local))
    out = build(env, p, s)
    if s.sink == "sns":
        out.map(Deliver(s, p), output_type=Types.STRING()).print()
    else:
        out.print()
    return env.execute(p.flink.application)  # runs until cancelled (the source is unbounded)


def default_jars() -> list[str]:
    """Local runs: $VIGIA_FLINK_JARS, else the connector build (on the service: the `jarfile` option)."""
    if os.environ.get("VIGIA_FLINK_JARS"):
        return [j for j in os.environ["VIGIA_FLINK_JARS"].split(os.pathsep) if j]
    return [str(j) for j in sorted((Path(__file__).resolve().parent.parent / "build" / "flink-connector").glob("*.jar"))]
