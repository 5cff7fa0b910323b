"""The `vigia` command line: run the pipeline, or one stage of it, on the local runtime.

One module per command group, each next to the demo stage it runs alone:
  runtime.py   up, down, status           the local AWS endpoint and the services we started
  ingest.py    produce, read-stream       + the demo's ingest stage
  batch.py     firehose, etl, crawl, query + the demo's batch stage
  realtime.py  flink, alerts              + the demo's real-time stage
  rules.py     rules backtest, rules diff  the alert rules replayed over gold (Athena)
  demo.py      demo                       every stage in order, on the simulator's data
"""

from __future__ import annotations

import sys

import click

from vigia.cli import batch, demo, ingest, realtime, rules, runtime
from vigia.cli.context import pipeline
from vigia_core import config


@click.group()
@click.option("--pipeline", "pipeline_path", envvar=config.ENV_PATH, default=None,
              help="Pipeline definition (default: pipeline.yaml at the repo root).")
@click.pass_context
def main(ctx: click.Context, pipeline_path: str | None) -> None:
    """Vigia: events in, alerts out in seconds, clean tables for SQL by the hour."""
    ctx.ensure_object(dict)["pipeline"] = pipeline_path


@main.command("validate")
@click.pass_context
def validate_cmd(ctx: click.Context) -> None:
    """Validate the pipeline definition and print a short overview."""
    p = pipeline(ctx)
    click.echo(f"ok: stream {p.stream.name}, {len(p.producer.sources)} sources, {len(p.rules)} rules")


for module in (runtime, ingest, batch, realtime, rules, demo):
    for command in module.COMMANDS:
        main.add_command(command)

if __name__ == "__main__":
    sys.exit(main())
