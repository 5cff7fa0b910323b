"""Per (rule, entity) decisions that need history, and the alert lifecycle (firing -> resolved).

Pure Python, shared by the job's keyed function (the state is a JSON dict in keyed ValueState,
small: a few numbers per rule and entity) and the reference evaluator, so both decide alike.
Window aggregates are computed elsewhere (Flink SQL, or the reference's own windows); here only
what follows from ONE (rule, entity)'s sequence of window rows, in window order:

- threshold: the row breaks the threshold;
- change: the difference (or rate per second) from the entity's previous window row breaks it;
- anomaly: the row lies beyond `deviations` standard deviations of the mean of the entity's last
  `windows` rows (population deviation), once `warmup` rows are known; every row joins the baseline;
- `for: {windows: N, breaching: M}` on any of them: the rule holds when at least M of the entity's
  last N window rows broke it (windows it sent nothing in are skipped, as CloudWatch's "missing");
  it fires on a row that breaks it while it holds, and clears when fewer than M of the N did;
- absence: fed the first and last event time of each step window the entity reported in; it is
  absent when nothing follows its last report within `for_s`; forgotten `lookback_s` after it.

Lifecycle: while a rule holds, each window row is a firing alert, let through by the cooldown
(alerts.admit). With `resolve: true` a let-through firing opens an incident: no more firings until
it clears, then ONE `resolved` message with the firing's alert_id as its group_id. A firing
suppressed by the cooldown opens nothing, so no resolved follows it: flapping yields at most one
firing/resolved pair per cooldown_s (per rule and entity).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from flink_app.alerts import Alert, admit
from vigia_core.config import Rule

COMPARE = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def needs_state(r: Rule) -> bool:
    """Rules decided from more than the one breaching row: they get EVERY window row from SQL."""
    return r.kind != "threshold" or r.for_ is not None or r.resolve


class Decisions:
    """What a row or a clock step produced: alerts to publish, and those the cooldown dropped."""

    def __init__(self):
        self.alerts: list[Alert] = []
        self.suppressed: list[Alert] = []


def on_window(r: Rule, st: dict, entity: str, start_ms: int, end_ms: int, observed: float,
              count: int, last_fired: float | None, remember) -> Decisions:
    """One window row of a windowed kind. `last_fired`/`remember` are the cooldown state (window
    start in epoch seconds of the last alert let through, kept apart so threshold-only rules keep
    their one-number state)."""
    out = Decisions()
    breach, value, comparison, threshold = _judge(r, st, start_ms, observed)
    holds = breach
    if r.for_ is not None:
        recent = (st.get("recent", []) + [bool(breach)])[-r.for_.windows:]
        st["recent"] = recent
        holds = sum(recent) >= r.for_.breaching
    if holds:
        if not breach or (r.resolve and st.get("open")):
            # M-of-N still holds on a row that does not break the rule itself (a firing reports
            # a breaking row), or the incident is open: nothing new to say
            return out
        a = Alert.of(r, entity, _dt(start_ms), _dt(end_ms), value, count,
                     comparison=comparison, threshold=threshold)
        _fire(r, st, a, start_ms, out, last_fired, remember)
    elif st.get("open"):
        out.alerts.append(Alert(**st.pop("open")).resolved(_dt(start_ms), _dt(end_ms), value, count))
    return out


def _judge(r: Rule, st: dict, start_ms: int, observed: float) -> tuple[bool, float, str, float]:
    """Whether this row breaks the rule, the value an alert reports, and what it was compared with."""
    if r.kind == "threshold":
        return COMPARE[r.comparison](observed, r.threshold), observed, r.comparison, r.threshold
    if r.kind == "change":
        prev, st["prev"] = st.get("prev"), [start_ms, observed]
        if prev is None:
            return False, 0.0, r.comparison, r.threshold
        delta = observed - prev[1]
        if r.change == "rate":
            delta /= (start_ms - prev[0]) / 1000
        return COMPARE[r.comparison](delta, r.threshold), delta, r.comparison, r.threshold
    # anomaly: against the baseline BEFORE this row; then the row joins it
    b = r.baseline
    hist = st.get("values", [])
    st["values"] = (hist + [observed])[-b.windows:]
    if len(hist) < (b.warmup or b.windows):
        return False, observed, ">", observed
    mean = math.fsum(hist) / len(hist)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in hist) / len(hist))
    upper, lower = mean + b.deviations * sd, mean - b.deviations * sd
    if b.direction != "below" and observed > upper:
        return True, observed, ">", upper
    if b.direction != "above" and observed < lower:
        return True, observed, "<", lower
    return False, observed, (">" if b.direction != "below" else "<"), (upper if b.direction != "below" else lower)


# --- absence -------------------------------------------------------------------------------------

def step_ms(r: Rule) -> int:
    return r.window.size_s * 1000


def due_ms(r: Rule, t_ms: int) -> int:
    """When event time (the watermark) says nothing happened up to `t_ms`: every step window that
    can hold an event <= t_ms has ended (window rows reach the function before the watermark that
    fired them), i.e. the end of t_ms's step window minus 1 ms (the window operator's own test)."""
    return (t_ms // step_ms(r)) * step_ms(r) + step_ms(r) - 1


def timers(r: Rule, st: dict) -> list[int]:
    """Event-time timers an absence key needs: its deadline (unless already reported) and when it
    is forgotten."""
    if st.get("seen") is None:
        return []
    out = [due_ms(r, st["seen"] + r.lookback_s * 1000)]
    if not st.get("missing"):
        out.insert(0, due_ms(r, st["seen"] + r.for_s * 1000))
    return out


def on_report(r: Rule, st: dict, entity: str, first_ms: int, last_ms: int, count: int,
              last_fired: float | None, remember) -> Decisions:
    """The entity reported in a step window (first and last event time). Decided from the data
    alone, so it does not matter whether a timer for an earlier deadline fired before this row."""
    out = Decisions()
    seen = st.get("seen")
    if seen is not None and not st.get("missing") and first_ms > seen + r.for_s * 1000:
        _absent(r, st, entity, out, last_fired, remember)     # its deadline passed before this row
    if seen is not None and first_ms > seen + r.lookback_s * 1000:
        _forget(st)                                           # a new entity as far as we know
    elif st.get("missing") and first_ms <= seen + r.for_s * 1000:
        # Reports within the deadline after a firing: only the quiet clock (on_quiet) fires that
        # early, and these are the stream's last reports before it went quiet, read once it moved
        # again. The incident stays as it is: nothing new to say until the entity really returns.
        st["seen"] = max(seen, last_ms)
        return out
    elif st.get("missing") and st.get("open"):
        silent_s = (first_ms - seen) / 1000
        out.alerts.append(Alert(**st.pop("open")).resolved(_dt(first_ms), _dt(last_ms), silent_s, count))
    st["seen"] = last_ms if st.get("seen") is None else max(st["seen"], last_ms)
    st["missing"] = False
    return out


def on_clock(r: Rule, st: dict, entity: str, now_ms: int, last_fired: float | None, remember) -> Decisions:
    """Event time (the watermark) has reached `now_ms`, so every report up to it has been seen:
    fire a deadline that is due, forget an entity that is."""
    out = Decisions()
    seen = st.get("seen")
    if seen is None:
        return out
    if not st.get("missing") and due_ms(r, seen + r.for_s * 1000) <= now_ms:
        _absent(r, st, entity, out, last_fired, remember)
    if due_ms(r, seen + r.lookback_s * 1000) <= now_ms:
        _forget(st)
    return out


def on_quiet(r: Rule, st: dict, entity: str, last_fired: float | None, remember) -> Decisions:
    """The whole stream has sent nothing new for for_s by the wall clock (no watermark progress):
    the expected entity is absent. Its last report is the last one of the step windows that closed
    (a quiet stream closes no more), so the alert's `since` may be up to one step and the watermark
    bound early; the silence it reports is true."""
    out = Decisions()
    if st.get("seen") is not None and not st.get("missing"):
        _absent(r, st, entity, out, last_fired, remember)
    return out


def _absent(r: Rule, st: dict, entity: str, out: Decisions, last_fired, remember) -> None:
    seen = st["seen"]
    st["missing"] = True
    a = Alert.of(r, entity, _dt(seen), _dt(seen + r.for_s * 1000), float(r.for_s), 0,
                 comparison=">", threshold=float(r.for_s))
    _fire(r, st, a, seen, out, last_fired, remember)


def _fire(r: Rule, st: dict, a: Alert, start_ms: int, out: Decisions, last_fired, remember) -> None:
    """A firing through the cooldown; let through with `resolve`, it opens the incident."""
    if admit(last_fired, start_ms / 1000, r.cooldown_s, remember):
        out.alerts.append(a)
        if r.resolve:
            st["open"] = a.to_dict()
    else:
        out.suppressed.append(a)


def _forget(st: dict) -> None:
    """An entity silent for lookback_s is no longer expected: no alert, no resolved for it any more
    (an open incident stays open for the receiver)."""
    for k in ("seen", "missing", "open"):
        st.pop(k, None)


def _dt(ms: int | float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
