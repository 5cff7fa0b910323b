"""What a source adapter does: fetch pages of raw items from an API, map each item to an envelope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Protocol

import requests

from vigia_core.config import Source
from vigia_core.contract import SCHEMA_VERSION, format_time

# Namespace for deterministic event ids: the same source item always gets the same event_id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1a53-5a2e-4d0a-9d76-3f0e3c6f9a11")


class MappingError(ValueError):
    """An item cannot be mapped to an envelope at all (e.g. it has no id); names the field."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Page:
    items: list[Any]      # raw items as the API returned them (adapters may flatten a response)
    cursor: str | None    # the source's cursor once this page is processed
    has_more: bool = False


class Adapter(Protocol):
    def fetch(self, http: requests.Session, source: Source, cursor: str | None) -> Iterator[Page]: ...

    def item_id(self, item: Any) -> str | None: ...

    def to_event(self, item: Any, source: Source, ingest_time: datetime) -> dict: ...


def event_id(source: str, native_id: str) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{native_id}"))


def envelope(source: str, native_id: str, ingest_time: datetime, **fields: Any) -> dict:
    """The envelope for one item; fields the item lacks stay absent so validation names them."""
    event = {"schema_version": SCHEMA_VERSION, "event_id": event_id(source, native_id), "source": source}
    event.update({k: v for k, v in fields.items() if v is not _MISSING})
    event["ingest_time"] = format_time(ingest_time)
    return event


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING = _Missing()
MISSING: Any = _MISSING
