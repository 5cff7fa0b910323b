"""Source adapters against fixtures in each API's documented format, served over local HTTP."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from producer.adapters import ADAPTERS, MappingError
from producer.http import session
from tests.support.http_fixture import FixtureServer
from vigia import simulator
from vigia_core import config, contract

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def source(**kw) -> config.Source:
    return config.Source(**kw)


def http():
    return session(config.HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0))


def test_usgs_maps_features_and_cursor_skips_seen():
    body = (FIXTURES / "usgs_all_hour.geojson").read_bytes()
    with FixtureServer({"/feed.geojson": body}) as srv:
        src = source(name="usgs", type="usgs_earthquakes", url=f"{srv.url}/feed.geojson")
        adapter = ADAPTERS["usgs_earthquakes"]
        (page,) = adapter.fetch(http(), src, None)
        assert [f["id"] for f in page.items] == ["ci40000001", "us7000abcd", "hv74000001", "nc75000001"]
        events = [adapter.to_event(f, src, NOW) for f in page.items]
        quake = events[1]
        assert quake["entity_id"] == "us7000abcd" and quake["metric"] == "magnitude" and quake["value"] == 4.6
        assert quake["event_time"] == contract.format_time(datetime.fromtimestamp(1795678200, tz=timezone.utc))
        assert quake["attributes"]["depth_km"] == "35.0" and quake["attributes"]["mag_type"] == "mb"
        assert contract.validate(quake) == []
        # The feature without a magnitude is invalid, and the reason says so.
        (err,) = contract.validate(events[2])
        assert err.field == "value" and "got null" in err.reason
        # Second poll with the cursor: nothing new.
        (again,) = adapter.fetch(http(), src, page.cursor)
        assert again.items == [] and again.cursor == page.cursor
        # Only features updated after the cursor are sent.
        (later,) = adapter.fetch(http(), src, "1795679000000")
        assert [f["id"] for f in later.items] == ["hv74000001", "nc75000001"]


def test_usgs_revision_is_a_new_event():
    feature = json.loads((FIXTURES / "usgs_all_hour.geojson").read_text())["features"][0]
    src = source(name="usgs", type="usgs_earthquakes", url="http://x")
    a = ADAPTERS["usgs_earthquakes"].to_event(feature, src, NOW)
    feature["properties"]["updated"] += 1
    b = ADAPTERS["usgs_earthquakes"].to_event(feature, src, NOW)
    assert a["event_id"] != b["event_id"] and a["entity_id"] == b["entity_id"]


def test_usgs_rejects_a_non_feature_collection():
    with FixtureServer({"/feed": b'{"type": "Feature"}'}) as srv:
        src = source(name="usgs", type="usgs_earthquakes", url=f"{srv.url}/feed")
        with pytest.raises(ValueError, match="not a GeoJSON FeatureCollection"):
            list(ADAPTERS["usgs_earthquakes"].fetch(http(), src, None))


def test_open_meteo_one_event_per_variable_and_location():
    body = (FIXTURES / "open_meteo_current.json").read_bytes()
    with FixtureServer({"/v1/forecast": body}) as srv:
        src = source(name="weather", type="open_meteo", url=f"{srv.url}/v1/forecast",
                     locations=[{"id": "lisbon", "latitude": 38.72, "longitude": -9.14}],
                     variables=["temperature_2m", "relative_humidity_2m", "wind_speed_10m"])
        adapter = ADAPTERS["open_meteo"]
        (page,) = adapter.fetch(http(), src, None)
        assert "current=temperature_2m%2Crelative_humidity_2m%2Cwind_speed_10m" in srv.requests["/v1/forecast"][0]
        events = [adapter.to_event(i, src, NOW) for i in page.items]
        assert [(e["metric"], e["value"], e["unit"]) for e in events] == [
            ("temperature_2m", 13.4, "celsius"), ("relative_humidity_2m", 81, "percent"), ("wind_speed_10m", 11.2, "km_h")]
        assert all(e["event_time"] == "2026-11-26T08:00:00.000Z" and e["entity_id"] == "lisbon" for e in events)
        assert all(contract.validate(e) == [] for e in events)
        # Same `current.time` again: nothing to send.
        assert list(adapter.fetch(http(), src, page.cursor)) == []


def test_open_meteo_unexpected_shape_is_rejected_with_reason():
    with FixtureServer({"/v1/forecast": b'{"error": true, "reason": "bad coordinates"}'}) as srv:
        src = source(name="weather", type="open_meteo", url=f"{srv.url}/v1/forecast",
                     locations=[{"id": "lisbon", "latitude": 38.72, "longitude": -9.14}], variables=["temperature_2m"])
        (page,) = ADAPTERS["open_meteo"].fetch(http(), src, None)
        with pytest.raises(MappingError, match="current: the response has no 'current' block"):
            ADAPTERS["open_meteo"].to_event(page.items[0], src, NOW)


def test_simulator_items_map_to_envelopes():
    settings = simulator.Settings(count=400, invalid_rate=0.2)
    items = simulator.generate(settings)
    now = settings.start + settings.duration + simulator.REPLAY_MARGIN  # when the demo would poll them
    src = source(name="simulator", type="simulator", url="http://x")
    adapter = ADAPTERS["simulator"]
    invalid_kinds = set()
    for item in items:
        event = adapter.to_event(item, src, now)
        errors = contract.validate(event, now=now, max_age=timedelta(days=30), max_future_skew=timedelta(0))
        clean = (isinstance(item.get("value"), float) and isinstance(item.get("sensor"), str)
                 and simulator.in_timeline(item.get("ts"), settings))
        assert (errors == []) == clean, (item, errors)
        invalid_kinds.update(e.field for e in errors)
        assert event["event_id"] == adapter.to_event(item, src, now)["event_id"]  # deterministic
    assert {"value", "entity_id", "event_time"} <= invalid_kinds


def test_http_retries_429_and_5xx_then_succeeds():
    with FixtureServer({"/ok": b"{}"}, faults=[503, 429]) as srv:
        resp = http().get(f"{srv.url}/ok")
        assert resp.status_code == 200 and len(srv.requests["/ok"]) == 3


def test_http_gives_up_after_max_attempts():
    with FixtureServer({"/ok": b"{}"}, faults=[503, 503, 503, 503]) as srv:
        resp = http().get(f"{srv.url}/ok")
        assert resp.status_code == 503 and len(srv.requests["/ok"]) == 3
