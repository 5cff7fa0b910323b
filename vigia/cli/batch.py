"""`vigia` commands of the batch path: firehose, etl, crawl, query (registered by vigia.cli)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click
from rich.console import Console

from vigia import config


def _pipeline(ctx: click.Context) -> config.Pipeline:
    try:
        return config.load(ctx.obj.get("pipeline"))
    except config.ConfigError as err:
        raise click.ClickException(str(err)) from None


def result_table(result, title: str | None = None, max_rows: int = 50, width: int = 80):
    """A query result for the terminal: a table, or one block per row when wider than `width`."""
    from vigia.local.athena import output

    return output.table(result, title=title, max_rows=max_rows, width=width)


@click.group()
def firehose() -> None:
    """Local Firehose delivery: Kinesis stream -> raw bucket, as the delivery stream would."""


@firehose.command()
@click.pass_context
def drain(ctx: click.Context) -> None:
    """Deliver everything now in the stream, flush all buffers, and exit."""
    from vigia.local.firehose import LocalDelivery

    s = LocalDelivery(_pipeline(ctx)).drain()
    click.echo(json.dumps({"records_read": s.records_read, "delivered": s.delivered, "errors": s.errors,
                           "objects": len(s.objects)}))


@firehose.command()
@click.option("--poll-interval", type=float, default=1.0, show_default=True)
@click.pass_context
def run(ctx: click.Context, poll_interval: float) -> None:
    """Run as a service until interrupted; buffers are flushed on exit."""
    from vigia.local.firehose import LocalDelivery

    stop = threading.Event()
    delivery = LocalDelivery(_pipeline(ctx))
    try:
        delivery.serve(stop, poll_interval)
    except KeyboardInterrupt:
        delivery.flush_all()


@click.command()
@click.option("--full", is_flag=True, help="Read every raw object, not only those the bookmark has not seen.")
@click.option("--reset-bookmark", is_flag=True, help="Forget which raw objects were processed, and exit.")
@click.pass_context
def etl(ctx: click.Context, full: bool, reset_bookmark: bool) -> None:
    """Run the Glue raw -> gold job locally (pyspark against the local S3 through s3a).

    Like the job's bookmarks in AWS, a run reads only the raw objects no earlier run processed (a
    marker in the artifacts bucket, glue/<etl_job>/bookmark.json); a rerun over old objects (--full)
    writes nothing twice.
    """
    from vigia.local import aws

    p = _pipeline(ctx)
    if reset_bookmark:
        from glue.bookmark import Bookmark

        existed = Bookmark(aws.client("s3", p.region), p.buckets.artifacts, p.glue.etl_job).reset()
        click.echo("bookmark reset: the next run reads every raw object" if existed else "no bookmark to reset")
        return
    from glue import raw_to_gold, spark_local

    click.echo(json.dumps(raw_to_gold.run(spark_local.session(aws.endpoint(), p.region), p, full=full)))


@click.command()
@click.argument("names", nargs=-1)
@click.pass_context
def crawl(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Run the pipeline's crawlers (all, or those named) against the local Glue Data Catalog."""
    from vigia.local.crawler import LocalCrawler

    crawler = LocalCrawler(_pipeline(ctx))
    try:
        results = {n: crawler.crawl(n) for n in names} if names else crawler.crawl_all()
    except KeyError as err:
        raise click.ClickException(err.args[0]) from None
    for name, r in results.items():
        click.echo(f"{name}: created {r.tables_created or '-'}, updated {r.tables_updated or '-'}, "
                   f"{r.partitions_added} partition(s) added" + "".join(f"\n  logged: {x}" for x in r.logged))


@click.command()
@click.argument("sql", required=False)
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False), help="Read the SQL from a file.")
@click.option("--param", "params", multiple=True, help="A value for each ? in the query, in order.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table: for reading (vertical when too wide), with run time and data scanned; csv/json: for scripts.")
@click.pass_context
def query(ctx: click.Context, sql: str | None, file_: str | None, params: tuple[str, ...], fmt: str) -> None:
    """Run Athena SQL locally (Glue catalog + S3 -> DuckDB) and print the result."""
    from vigia.local import aws
    from vigia.local.athena import AthenaError, LocalAthena, output
    from vigia.local.s3_meter import S3Meter

    if bool(sql) == bool(file_):
        raise click.UsageError("give either SQL or --file")
    text = Path(file_).read_text() if file_ else sql
    p = _pipeline(ctx)
    with S3Meter(aws.port()) as meter:  # data scanned = object bytes read from S3, as Athena meters it
        try:
            result = LocalAthena(p, s3_endpoint=meter.endpoint).query(text, params)
        except AthenaError as err:
            raise click.ClickException(str(err)) from None
        scanned = meter.reset()
    output.print_result(result, fmt, scanned, Console(soft_wrap=False))


def register(main: click.Group) -> None:
    for cmd in (firehose, etl, crawl, query):
        main.add_command(cmd)
