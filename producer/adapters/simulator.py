"""The simulator's telemetry API (vigia.simulator): cursor-paginated readings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

import requests

from producer.adapters.base import MISSING, MappingError, Page, envelope
from vigia_core.config import Source


class SimulatorAdapter:
    def fetch(self, http: requests.Session, source: Source, cursor: str | None) -> Iterator[Page]:
        after = cursor or "0"
        while True:
            resp = http.get(f"{source.url}/v1/readings", params={"after": after, "limit": source.page_size})
            resp.raise_for_status()
            body = resp.json()
            yield Page(body["items"], body["next_cursor"], body["has_more"])
            if not body["has_more"]:
                return
            after = body["next_cursor"]

    def item_id(self, item: Any) -> str | None:
        return item.get("id") if isinstance(item, dict) else None

    def to_event(self, item: Any, source: Source, ingest_time: datetime) -> dict:
        if not isinstance(item, dict):
            raise MappingError("(item)", f"must be a JSON object, got {type(item).__name__}")
        if not isinstance(item.get("id"), str):
            raise MappingError("id", "the reading has no string id, so no event_id can be derived")
        attributes = {k: str(item[k]) for k in ("site", "firmware") if k in item}
        return envelope(source.name, item["id"], ingest_time,
                        entity_id=item.get("sensor", MISSING), metric=item.get("metric", MISSING),
                        value=item.get("value", MISSING), unit=item.get("unit", MISSING),
                        event_time=item.get("ts", MISSING), attributes=attributes)
