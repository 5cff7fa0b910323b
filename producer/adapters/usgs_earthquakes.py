"""USGS earthquake GeoJSON summary feed (https://earthquake.usgs.gov/earthquakes/feed/v1.0/geojson.php).

The feed returns every event of its window each time; the cursor is the largest `properties.updated`
(epoch ms) already sent, so a poll only sends features that are new or revised since. A revision
is a new event (its event_id includes `updated`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import requests

from producer.adapters.base import MISSING, MappingError, Page, envelope
from vigia_core.config import Source
from vigia_core.contract import format_time


def _updated(feature: Any) -> int:
    try:
        return int(feature["properties"]["updated"])
    except (TypeError, KeyError, ValueError):
        return -1


class UsgsEarthquakesAdapter:
    def fetch(self, http: requests.Session, source: Source, cursor: str | None) -> Iterator[Page]:
        resp = http.get(source.url)
        resp.raise_for_status()
        body = resp.json()
        if body.get("type") != "FeatureCollection" or not isinstance(body.get("features"), list):
            raise ValueError("response is not a GeoJSON FeatureCollection with a 'features' list")
        seen = int(cursor or 0)
        fresh = sorted((f for f in body["features"] if _updated(f) > seen or _updated(f) < 0), key=_updated)
        newest = max([seen, *(_updated(f) for f in fresh)])
        yield Page(fresh, str(newest))

    def item_id(self, item: Any) -> str | None:
        return item.get("id") if isinstance(item, dict) else None

    def to_event(self, item: Any, source: Source, ingest_time: datetime) -> dict:
        if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
            raise MappingError("properties", "a GeoJSON feature needs a 'properties' object")
        if not isinstance(item.get("id"), str):
            raise MappingError("id", "the feature has no string id")
        props = item["properties"]
        if _updated(item) < 0:
            raise MappingError("properties.updated", "must be an epoch-milliseconds integer")
        t = props.get("time")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            try:
                event_time = format_time(datetime.fromtimestamp(t / 1000, tz=timezone.utc))
            except (OverflowError, OSError, ValueError):
                event_time = str(t)  # absurd: let the contract reject it with the value shown
        else:
            event_time = t if t is not None else MISSING
        coords = (item.get("geometry") or {}).get("coordinates") or []
        attributes = {k: str(v) for k, v in {
            "place": props.get("place"), "mag_type": props.get("magType"), "status": props.get("status"),
            "longitude": coords[0] if len(coords) > 0 else None, "latitude": coords[1] if len(coords) > 1 else None,
            "depth_km": coords[2] if len(coords) > 2 else None,
        }.items() if v is not None}
        return envelope(source.name, f"{item['id']}:{props['updated']}", ingest_time,
                        entity_id=item["id"], metric="magnitude", value=props.get("mag", MISSING),
                        unit="richter", event_time=event_time, attributes=attributes)
