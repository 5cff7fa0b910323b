"""`vigia demo`'s own part, without the stages' work: a fresh moto server and the simulator on
(here: private) ports, the stages in order, and the summary kept when a stage stops the demo.
The stages themselves are tested on their own (test_ingest.py, test_batch_demo.py, test_realtime_cli.py)."""

from __future__ import annotations

import json
import os

import pytest
import requests
from rich.console import Console

from vigia import simulator
from vigia.cli import batch, demo, ingest, realtime
from vigia.cli.stage import StageError
from vigia.local import aws, services
from vigia.local.variants import free_port, unique_pipeline, with_source
from vigia_core import config

pytestmark = pytest.mark.integration


def test_the_demo_is_the_three_stages_in_order():
    assert demo.STAGES == [ingest.demo_stage, batch.demo_stage, realtime.demo_stage]


def test_demo_runs_its_stages_in_order_and_keeps_the_summary_of_a_stopped_run(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "STATE_DIR", tmp_path)
    monkeypatch.setenv("VIGIA_MOTO_PORT", str(free_port()))
    p = with_source(unique_pipeline(config.load(), "wiring"), "simulator", url=f"http://127.0.0.1:{free_port()}")
    ran = []

    def first(d):
        assert requests.get(f"{d.sim_url}/health", timeout=5).ok  # the simulator runs for the stages
        assert d.pipeline == p and d.sim.count == 10
        ran.append("first")
        d.summary["first"] = 1

    def second(d):
        ran.append("second")
        raise StageError("second: no input")

    monkeypatch.setattr(demo, "STAGES", [first, second, lambda d: ran.append("never")])
    saved = dict(os.environ)  # run() points this process at its moto server (aws.use)
    try:
        with pytest.raises(StageError, match="second: no input"):
            demo.run(p, simulator.Settings(count=10), Console(quiet=True))
        assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for name in services.known():
            services.stop(name)
    assert ran == ["first", "second"]
    assert json.loads(demo.summary_path().read_text()) == {"first": 1}
    assert demo.summary_path().parent == tmp_path
