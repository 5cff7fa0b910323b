"""`vigia demo`: the whole pipeline on the local runtime, on the simulator's seeded data.

The demo is a list of stages run in order. Each stage is a function `stage(demo: Demo) -> None`
that does its part, prints what an operator would want to see, and adds its keys to
`demo.summary`, which is written to `.local/demo-summary.json` at the end. Components add their
own stage by appending its dotted name to `STAGES`.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from vigia import simulator
from vigia.config import Pipeline
from vigia.contract import format_time
from vigia.local import aws, provision, services

STAGES = [
    "vigia.ingest:demo_stage",          # simulator -> producer -> Kinesis -> read back
    "vigia.batch_demo:demo_stage",      # Kinesis -> Firehose -> raw -> Glue ETL -> crawlers -> Athena
    "flink_app.demo:demo_stage",        # Kinesis -> Flink rules -> SNS -> inbox queue
]
SIMULATOR = "simulator"


@dataclass
class Demo:
    pipeline: Pipeline
    sim: simulator.Settings
    sim_url: str
    console: Console
    summary: dict = field(default_factory=dict)

    def section(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")


def summary_path() -> Path:
    return services.STATE_DIR / "demo-summary.json"


def start_simulator(p: Pipeline, settings: simulator.Settings) -> str:
    """Run the simulator in the background on the port of the pipeline's simulator source."""
    url = p.producer.source("simulator").url
    port = url.rsplit(":", 1)[1].strip("/")
    services.stop(SIMULATOR)  # a fresh timeline every demo run
    services.start(SIMULATOR, services.python_argv("vigia.simulator", "--port", port, "--seed", str(settings.seed),
                                                  "--count", str(settings.count),
                                                  "--start", format_time(settings.start)), f"{url}/health")
    return url


def run(p: Pipeline, settings: simulator.Settings | None = None, console: Console | None = None) -> dict:
    console = console or Console()
    settings = settings or simulator.Settings()
    services.stop(aws.SERVICE)  # a clean slate: moto keeps no state across restarts
    aws.start()
    aws.use(p.region)
    changes = provision.provision(p)
    console.print(f"local AWS endpoint {aws.endpoint()}: "
                  f"{sum(c.action == 'created' for c in changes)} resources created, "
                  f"{sum(c.action == 'exists' for c in changes)} already present")
    demo = Demo(p, settings, start_simulator(p, settings), console)
    try:
        for dotted in STAGES:
            module, fn = dotted.split(":")
            getattr(importlib.import_module(module), fn)(demo)
    finally:  # a stage that stops the demo still leaves the summary of what ran
        summary_path().parent.mkdir(parents=True, exist_ok=True)
        summary_path().write_text(json.dumps(demo.summary, indent=2, sort_keys=True) + "\n")
        demo.section("summary")
        console.print_json(data=demo.summary)
        console.print(f"written to {summary_path()}")
    return demo.summary
