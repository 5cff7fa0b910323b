"""The alert: its deterministic id, the texts an operator reads, the SNS message, and cooldown.

Pure Python, shared by the Flink job (which publishes), the reference evaluator (which states the
expected alerts) and the tests, so an alert looks the same wherever it is computed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

from vigia_core.config import Rule
from vigia_core.contract import format_time, parse_time

# Fixed namespace: alert_id = uuid5(namespace, "rule|entity|window_start") never changes between
# runs, restarts or machines, so a re-delivered alert carries the same id (at-least-once, dedupable).
ALERT_NAMESPACE = uuid.UUID("6f1b7a52-0c1e-4d38-9a8e-3f6c2b1d9e40")
SMS_MAX = 140


def alert_id(rule: str, entity_id: str, window_start: datetime) -> str:
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{rule}|{entity_id}|{format_time(window_start)}"))


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: str
    severity: str
    entity_id: str
    metric: str
    window_start: str      # contract time format (ISO-8601 UTC, ms, Z); absence: the last report
    window_end: str        # absence: the deadline (last report + for_s)
    observed: float        # change: the difference or rate; absence: the seconds of silence
    comparison: str
    threshold: float       # anomaly: the edge of the baseline band it crossed
    event_count: int
    rule_kind: str = "threshold"   # threshold | change | anomaly | absence
    status: str = "firing"         # firing | resolved
    group_id: str = ""             # the firing's alert_id, on the firing and on its resolved

    def __post_init__(self):
        if not self.group_id:  # a firing is its own group
            object.__setattr__(self, "group_id", self.alert_id)

    @classmethod
    def of(cls, rule: Rule, entity_id: str, window_start: datetime, window_end: datetime,
           observed: float, event_count: int, comparison: str | None = None,
           threshold: float | None = None) -> "Alert":
        return cls(alert_id(rule.name, entity_id, window_start), rule.name, rule.severity, entity_id,
                   rule.metric, format_time(window_start), format_time(window_end), float(observed),
                   comparison or rule.comparison, float(rule.threshold if threshold is None else threshold),
                   int(event_count), rule.kind)

    def resolved(self, window_start: datetime, window_end: datetime, observed: float, event_count: int) -> "Alert":
        """The notice that this firing's condition cleared: same group, its own deterministic id."""
        rid = str(uuid.uuid5(ALERT_NAMESPACE, f"{self.alert_id}|resolved"))
        return replace(self, alert_id=rid, window_start=format_time(window_start), window_end=format_time(window_end),
                       observed=float(observed), event_count=int(event_count), status="resolved",
                       group_id=self.alert_id)

    def to_dict(self) -> dict:
        return asdict(self)

    def _what(self) -> str:
        """The condition in a few words, per kind (firing) or what cleared it (resolved)."""
        m, v, c, t = self.metric, _num(self.observed), self.comparison, _num(self.threshold)
        if self.rule_kind == "absence":
            if self.status == "resolved":
                return f"{m} reporting again after {v}s"
            return f"no {m} for {t}s since {self.window_start[11:19]}Z"
        if self.rule_kind == "change":
            what = f"{m} change {'+' if self.observed >= 0 else ''}{v}"
        elif self.rule_kind == "anomaly":
            what = f"{m} {v} vs baseline"
        else:
            what = f"{m} {v}"
        return f"{what} {'no longer ' if self.status == 'resolved' else ''}{c} {t}"

    def sms_text(self) -> str:
        """At most 140 characters: severity (or RESOLVED), rule, entity, the condition, time."""
        head = "RESOLVED" if self.status == "resolved" else self.severity.upper()
        at = self.window_start if self.rule_kind == "absence" and self.status == "resolved" else self.window_end
        text = f"{head} {self.rule} {self.entity_id}: {self._what()} at {at[11:16]}Z"
        return text if len(text) <= SMS_MAX else text[: SMS_MAX - 3] + "..."

    def email_subject(self) -> str:
        if self.status == "resolved":
            return f"[RESOLVED] {self.rule} on {self.entity_id}"[:100]
        return f"[{self.severity.upper()}] {self.rule} on {self.entity_id}"[:100]

    def email_text(self) -> str:
        if self.status == "resolved":
            first = f"Vigia: rule '{self.rule}' ({self.severity}) resolved for {self.entity_id}."
        else:
            first = f"Vigia alert: rule '{self.rule}' ({self.severity}) fired for {self.entity_id}."
        lines = [first, "", f"  kind          {self.rule_kind}", f"  metric        {self.metric}"]
        if self.rule_kind == "absence":
            lines.append(f"  condition     {self._what()}")
            lines.append(f"  {'reported' if self.status == 'resolved' else 'silent  '}      "
                         f"{self.window_start} .. {self.window_end} (event time)")
        else:
            lines.append(f"  observed      {_num(self.observed)} (rule: {self.comparison} {_num(self.threshold)})")
            lines.append(f"  window        {self.window_start} .. {self.window_end} (event time, end exclusive)")
        lines += [f"  events        {self.event_count} in the window",
                  f"  alert id      {self.alert_id}",
                  f"  group id      {self.group_id} (the firing and its resolved share it)",
                  "",
                  "Repeats for the same rule and entity are suppressed during the rule's cooldown."]
        return "\n".join(lines)

    def sns_message(self) -> str:
        """The `Message` for SNS publish with MessageStructure=json: one text per protocol."""
        body = json.dumps(self.to_dict(), sort_keys=True)
        return json.dumps({"default": body, "sqs": body, "sms": self.sms_text(), "email": self.email_text()})

    def sns_attributes(self) -> dict:
        """Message attributes that subscription filter policies can match."""
        return {"severity": {"DataType": "String", "StringValue": self.severity},
                "rule": {"DataType": "String", "StringValue": self.rule},
                "status": {"DataType": "String", "StringValue": self.status}}


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def from_row(rule: Rule, entity_id: str, metric: str, window_start: datetime, window_end: datetime,
             observed: float, event_count: int) -> Alert:
    """An alert from one row of the compiled query (times may be naive UTC or aware)."""
    return Alert.of(rule, entity_id, _utc(window_start), _utc(window_end), observed, event_count)


def _utc(t: datetime | str) -> datetime:
    if isinstance(t, str):
        return parse_time(t)
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


class Cooldown:
    """Per (rule, entity): an alert is suppressed while its window starts less than `cooldown_s`
    after the window start of the last alert let through. Event time only, so the outcome depends
    on the data and never on when windows happen to fire; the state is one timestamp per key."""

    def __init__(self, cooldown_s: dict[str, int]):
        self.cooldown_s = cooldown_s
        self.last: dict[tuple[str, str], float] = {}

    def admit(self, a: Alert) -> bool:
        key = (a.rule, a.entity_id)
        start = parse_time(a.window_start).timestamp()
        return admit(self.last.get(key), start, self.cooldown_s.get(a.rule, 0), lambda s: self.last.__setitem__(key, s))


def admit(last_start: float | None, start: float, cooldown_s: int, remember) -> bool:
    """The cooldown decision, shared by the in-memory `Cooldown` and the job's keyed state."""
    if last_start is not None and last_start <= start < last_start + cooldown_s:
        return False
    remember(start if last_start is None else max(start, last_start))
    return True
