"""Open-Meteo current weather (https://open-meteo.com/en/docs), one request per configured location.

The response's `current` block holds one value per requested variable at `current.time` (GMT,
"YYYY-MM-DDTHH:MM"), with units in `current_units`. Each (location, variable) becomes one event.
The cursor is a JSON object {location id: last `current.time` sent}; an unchanged time is skipped.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterator

import requests

from producer.adapters.base import MISSING, MappingError, Page, envelope
from vigia_core.config import Source

UNITS = {"°C": "celsius", "°F": "fahrenheit", "%": "percent", "km/h": "km_h", "m/s": "m_s", "hPa": "hpa", "mm": "mm"}


class OpenMeteoAdapter:
    def fetch(self, http: requests.Session, source: Source, cursor: str | None) -> Iterator[Page]:
        last: dict[str, str] = json.loads(cursor) if cursor else {}
        for loc in source.locations:
            resp = http.get(source.url, params={
                "latitude": loc.latitude, "longitude": loc.longitude,
                "current": ",".join(source.variables), "timezone": "GMT"})
            resp.raise_for_status()
            body = resp.json()
            current, units = body.get("current"), body.get("current_units") or {}
            if not isinstance(current, dict) or "time" not in current:
                # Not the documented shape: hand it on whole so it is rejected with the reason.
                yield Page([{"location": loc.id, "response": body}], json.dumps(last))
                continue
            if last.get(loc.id) == current["time"]:
                continue
            items = [{"location": loc.id, "time": current["time"], "variable": var,
                      "value": current.get(var, MISSING), "unit": units.get(var, MISSING)}
                     for var in source.variables]
            last[loc.id] = current["time"]
            yield Page(items, json.dumps(last, sort_keys=True))

    def item_id(self, item: Any) -> str | None:
        if isinstance(item, dict) and "time" in item:
            return f"{item['location']}:{item['time']}:{item['variable']}"
        return None

    def to_event(self, item: Any, source: Source, ingest_time: datetime) -> dict:
        if "response" in item:
            raise MappingError("current", "the response has no 'current' block with a 'time'")
        t = item["time"]
        event_time = f"{t}:00.000Z" if isinstance(t, str) and len(t) == 16 else t
        unit = item["unit"]
        return envelope(source.name, self.item_id(item), ingest_time,
                        entity_id=item["location"], metric=item["variable"], value=item["value"],
                        unit=UNITS.get(unit, unit) if unit is not MISSING else MISSING,
                        event_time=event_time, attributes={})
