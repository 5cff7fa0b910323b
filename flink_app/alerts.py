"""The alert: its deterministic id, the texts an operator reads, the SNS message, and cooldown.

Pure Python, shared by the Flink job (which publishes), the reference evaluator (which states the
expected alerts) and the tests, so an alert looks the same wherever it is computed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
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
    window_start: str      # contract time format (ISO-8601 UTC, ms, Z)
    window_end: str
    observed: float
    comparison: str
    threshold: float
    event_count: int

    @classmethod
    def of(cls, rule: Rule, entity_id: str, window_start: datetime, window_end: datetime,
           observed: float, event_count: int) -> "Alert":
        return cls(alert_id(rule.name, entity_id, window_start), rule.name, rule.severity, entity_id,
                   rule.metric, format_time(window_start), format_time(window_end), float(observed),
                   rule.comparison, float(rule.threshold), int(event_count))

    def to_dict(self) -> dict:
        return asdict(self)

    def sms_text(self) -> str:
        """At most 140 characters: severity, rule, entity, value vs threshold, window end."""
        text = (f"{self.severity.upper()} {self.rule} {self.entity_id}: {self.metric} "
                f"{_num(self.observed)} {self.comparison} {_num(self.threshold)} "
                f"at {self.window_end[11:16]}Z")
        return text if len(text) <= SMS_MAX else text[: SMS_MAX - 3] + "..."

    def email_subject(self) -> str:
        return f"[{self.severity.upper()}] {self.rule} on {self.entity_id}"[:100]

    def email_text(self) -> str:
        return "\n".join([
            f"Vigia alert: rule '{self.rule}' ({self.severity}) fired for {self.entity_id}.",
            "",
            f"  metric        {self.metric}",
            f"  observed      {_num(self.observed)} (rule: {self.comparison} {_num(self.threshold)})",
            f"  window        {self.window_start} .. {self.window_end} (event time, end exclusive)",
            f"  events        {self.event_count} in the window",
            f"  alert id      {self.alert_id}",
            "",
            "Repeats for the same rule and entity are suppressed during the rule's cooldown.",
        ])

    def sns_message(self) -> str:
        """The `Message` for SNS publish with MessageStructure=json: one text per protocol."""
        body = json.dumps(self.to_dict(), sort_keys=True)
        return json.dumps({"default": body, "sqs": body, "sms": self.sms_text(), "email": self.email_text()})

    def sns_attributes(self) -> dict:
        """Message attributes that subscription filter policies can match."""
        return {"severity": {"DataType": "String", "StringValue": self.severity},
                "rule": {"DataType": "String", "StringValue": self.rule}}


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
