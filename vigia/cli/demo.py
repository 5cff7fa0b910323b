"""`vigia demo`: the whole pipeline on the local runtime, on the simulator's seeded data.

The demo is the list of stages below, run in order; each is the `demo_stage` of the CLI module
that runs the same step alone (vigia/cli/stage.py says what a stage gets and raises).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from vigia import simulator
from vigia.cli import batch, ingest, realtime
from vigia.cli.context import pipeline
from vigia.cli.stage import Demo, StageError
from vigia.local import aws, provision, services
from vigia_core.config import Pipeline
from vigia_core.contract import format_time

STAGES = [
    ingest.demo_stage,    # simulator -> producer -> Kinesis -> read back
    batch.demo_stage,     # Kinesis -> Firehose -> raw -> Glue ETL -> crawlers -> Athena
    realtime.demo_stage,  # Kinesis -> Flink rules -> SNS -> inbox queue
]
SIMULATOR = "simulator"


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
        for stage in STAGES:
            stage(demo)
    finally:  # a stage that stops the demo still leaves the summary of what ran
        summary_path().parent.mkdir(parents=True, exist_ok=True)
        summary_path().write_text(json.dumps(demo.summary, indent=2, sort_keys=True) + "\n")
        demo.section("summary")
        console.print_json(data=demo.summary)
        console.print(f"written to {summary_path()}")
    return demo.summary


@click.command("demo")
@click.option("--seed", type=int, default=None, help="Simulator seed (default: the simulator's).")
@click.option("--count", type=int, default=None, help="Simulator items to replay.")
@click.pass_context
def demo_cmd(ctx: click.Context, seed: int | None, count: int | None) -> None:
    """Run the whole pipeline locally on the simulator's data and summarise what happened."""
    defaults = simulator.Settings()
    settings = simulator.Settings(seed=seed if seed is not None else defaults.seed,
                                  count=count if count is not None else defaults.count)
    try:
        run(pipeline(ctx), settings)
    except (StageError, services.PortInUse) as err:
        raise click.ClickException(str(err)) from None


COMMANDS = [demo_cmd]
