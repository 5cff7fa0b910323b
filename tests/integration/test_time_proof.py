"""Time-proof: the ingest and batch stages give the demo's figures on any date.

The clock is moved (vigia_core.clock.shifted, which also reaches child processes through
VIGIA_CLOCK_OFFSET_S) years ahead and years back. Everything that asks "now" (the simulator's
replay anchor, the producer's age and future-skew checks, the ETL's future check and quarantine
date) moves with it, so the figures are those of an unshifted run. A component that read the
wall clock instead would reject every item (too old / in the future) and fail here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from rich.console import Console

from tests.conftest import with_source
from vigia import foreign_writer, simulator
from vigia.cli import batch
from vigia.cli.stage import Demo
from vigia.local import stream
from vigia.local.producer import produce
from vigia_core import clock
from vigia_core.contract import parse_time

pytestmark = pytest.mark.integration

YEARS = 365.25 * 24 * 3600


def valid_items(items: list[dict], settings: simulator.Settings) -> list[dict]:
    """Which simulator items are valid events, stated independently of the producer."""
    return [i for i in items if isinstance(i.get("id"), str) and isinstance(i.get("sensor"), str)
            and isinstance(i.get("value"), float) and simulator.in_timeline(i.get("ts"), settings)]


@pytest.mark.parametrize("shift_years", [-9, 12])
def test_ingest_and_batch_give_the_demo_figures_with_the_clock_moved(
        shift_years, local_pipeline, aws_env, simulator_server, spark, monkeypatch):
    monkeypatch.setenv("VIGIA_MOTO_PORT", str(aws_env))  # the batch stage uses the default endpoint
    with clock.shifted(seconds=shift_years * YEARS):
        settings = simulator.Settings(seed=5, count=400)
        assert abs((settings.start - clock._wall()).total_seconds() - shift_years * YEARS) < 86400
        items = simulator.generate(settings)
        valid = valid_items(items, settings)
        p = with_source(local_pipeline, "simulator", url=simulator_server(settings))

        result = produce(p, ["simulator"])
        foreign = foreign_writer.inject(p, aws_env)
        in_stream = len(stream.read_records(p))
        demo = Demo(p, settings, "unused", Console(quiet=True), {"in_stream": in_stream})
        batch.demo_stage(demo)

    assert valid and result["produced"] == len(valid) and result["rejected"] == len(items) - len(valid)
    assert in_stream == result["produced"] + foreign
    s = demo.summary
    assert s["raw_records"] + s["firehose_errors"] == in_stream
    assert s["gold_rows"] == len(valid)  # not one valid event judged too old or in the future
    assert s["gold_rows"] + s["quarantined"] + s["duplicates_dropped"] == s["raw_records"]
    assert s["queries_ok"] == len(list(batch.QUERIES.glob("*.sql")))


def test_the_clock_offset_reaches_child_processes():
    """A child started with the shifted environment sees the same shifted now (the demo's services,
    the Flink job)."""
    with clock.shifted(days=-4000):
        parent = clock.now()
        out = subprocess.run([sys.executable, "-c", "from vigia_core import clock; print(clock.now().isoformat())"],
                             capture_output=True, text=True, check=True, timeout=60)
    child = parse_time(out.stdout.strip())
    assert 0 <= (child - parent).total_seconds() < 60
    assert (clock._wall() - child).days >= 3999
