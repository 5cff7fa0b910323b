"""`vigia produce`, `vigia read-stream`, and the demo's ingest stage, which runs the same code:
simulator -> producer -> Kinesis, a foreign writer's records beside them -> read back."""

from __future__ import annotations

import json

import click
from rich.table import Table

from vigia import foreign_writer
from vigia.cli.context import pipeline
from vigia.cli.stage import Demo, StageError
from vigia.local import aws, stream
from vigia.local.producer import produce as run_producer, reject_reasons


@click.command()
@click.option("--source", "sources", multiple=True, help="Source name (repeatable); default: the local ones.")
@click.pass_context
def produce(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Poll the sources once, as the scheduled Lambda does, against the local endpoint."""
    p = pipeline(ctx)
    aws.use(p.region)
    click.echo(json.dumps(run_producer(p, list(sources) or None), indent=2))


@click.command("read-stream")
@click.option("--show", default=3, help="How many events to print.")
@click.pass_context
def read_stream(ctx: click.Context, show: int) -> None:
    """Read the whole local stream back (all shards, from the start)."""
    p = pipeline(ctx)
    aws.use(p.region)
    records = stream.read_records(p)
    click.echo(f"{len(records)} records in {p.stream.name}")
    for r in records[:show]:
        click.echo(r.decode(errors="replace"))


COMMANDS = [produce, read_stream]


def demo_stage(demo: Demo) -> None:
    """simulator -> producer -> Kinesis, a foreign writer's records beside them -> read back.

    `produced` counts every record Kinesis accepted (the producer's and the foreign writer's);
    `in_stream` is what reading the stream back finds: the two must agree.
    """
    demo.section("ingest: simulator -> producer -> Kinesis")
    p = demo.pipeline
    result = run_producer(p, ["simulator"])
    foreign = foreign_writer.inject(p)
    records = stream.read_records(p)
    demo.summary.update({"source_items": result["source_items"], "rejected": result["rejected"],
                         "producer_produced": result["produced"], "foreign_records": foreign,
                         "produced": result["produced"] + foreign, "in_stream": len(records)})
    demo.console.print(f"simulator served {result['source_items']} items in {result['pages']} pages; "
                       f"producer put {result['produced']} on stream {p.stream.name} and rejected "
                       f"{result['rejected']} (under s3://{p.buckets.raw}/{p.producer.rejects_prefix})")
    demo.console.print(f"a foreign writer put {foreign} records of its own (not JSON, re-sends, broken values)")
    demo.console.print(f"read back {len(records)} records from the stream")
    reasons = reject_reasons(p)
    table = Table(title="why items were rejected (top 6)")
    for column in ("field", "problem", "items", "example"):
        table.add_column(column, justify="right" if column == "items" else "left", overflow="fold")
    for field, kind, n, example in reasons[:6]:
        table.add_row(field, kind, str(n), example)
    demo.console.print(table)
    if not result["produced"]:
        top = f"; top reason: {reasons[0][0]} {reasons[0][1]} ({reasons[0][2]} items, e.g. {reasons[0][3]})" if reasons else ""
        raise StageError(f"ingest: the producer put none of the {result['source_items']} items the simulator "
                         f"served on the stream ({result['rejected']} rejected{top})")
