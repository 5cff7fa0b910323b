"""`vigia firehose`, `etl`, `crawl`, `query`: the batch path one step at a time, and the demo's
batch stage, which runs the same steps: stream -> local Firehose -> raw -> Glue ETL -> crawlers -> Athena.

The stage adds to the demo summary: raw_records, firehose_errors, gold_rows, quarantined,
duplicates_dropped, already_quarantined, queries_ok. Every record on the stream (`in_stream`,
counted by the ingest stage after the producer and the foreign writer) is accounted for:
raw_records + firehose_errors == in_stream, and
gold_rows + quarantined + duplicates_dropped + already_quarantined == raw_records.
"""

from __future__ import annotations

import gzip
import json
import threading
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console

from vigia.cli.context import pipeline
from vigia.cli.stage import Demo, StageError
from vigia.local import aws
from vigia_core import contract
from vigia_core.config import Pipeline

# pyspark (glue), DuckDB and pyarrow (the local Athena, crawler and Firehose) take seconds to load,
# and every `vigia` command loads this module: they are imported in the functions that use them.

QUERIES = Path(__file__).resolve().parents[2] / "athena" / "queries"


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

    s = LocalDelivery(pipeline(ctx)).drain()
    click.echo(json.dumps({"records_read": s.records_read, "delivered": s.delivered, "errors": s.errors,
                           "objects": len(s.objects)}))


@firehose.command()
@click.option("--poll-interval", type=float, default=1.0, show_default=True)
@click.pass_context
def run(ctx: click.Context, poll_interval: float) -> None:
    """Run as a service until interrupted; buffers are flushed on exit."""
    from vigia.local.firehose import LocalDelivery

    stop = threading.Event()
    delivery = LocalDelivery(pipeline(ctx))
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
    p = pipeline(ctx)
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

    crawler = LocalCrawler(pipeline(ctx))
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
    from vigia.local.athena import AthenaError, LocalAthena, output
    from vigia.local.s3_meter import S3Meter

    if bool(sql) == bool(file_):
        raise click.UsageError("give either SQL or --file")
    text = Path(file_).read_text() if file_ else sql
    p = pipeline(ctx)
    with S3Meter(aws.port()) as meter:  # data scanned = object bytes read from S3, as Athena meters it
        try:
            result = LocalAthena(p, s3_endpoint=meter.endpoint).query(text, params)
        except AthenaError as err:
            raise click.ClickException(str(err)) from None
        scanned = meter.reset()
    output.print_result(result, fmt, scanned, Console(soft_wrap=False))


COMMANDS = [firehose, etl, crawl, query]


def count_lines(p: Pipeline, prefix: str, port: int | None = None) -> int:
    """Records in the delivered objects under `prefix` of the raw bucket (read back from S3)."""
    s3, n = aws.client("s3", p.region, port), 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=prefix):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=p.buckets.raw, Key=o["Key"])["Body"].read()
            n += len((gzip.decompress(body) if o["Key"].endswith(".gz") else body).splitlines())
    return n


def first_day(athena) -> str:
    """The first day of the demo's query window: the day before the newest gold day."""
    newest = athena.query("SELECT max(dt) FROM events").rows[0][0]
    return str(contract.parse_time(f"{newest}T00:00:00Z").date() - timedelta(days=1)) if newest else "1970-01-01"


def run_queries(athena, params: dict[str, list[str]], console) -> tuple[int, dict]:
    """Run every project query; a failing one is reported, not fatal. Returns (ok count, results)."""
    from vigia.local.athena import AthenaError

    ok, results = 0, {}
    for f in sorted(QUERIES.glob("*.sql")):
        try:
            results[f.stem] = athena.query(f.read_text(), params.get(f.stem, []))
            ok += 1
        except AthenaError as err:
            console.print(f"[red]query {f.name} failed: {err}")
    return ok, results


def demo_stage(demo: Demo) -> None:
    from glue import raw_to_gold, spark_local
    from vigia.local.athena import AthenaError, LocalAthena
    from vigia.local.crawler import LocalCrawler
    from vigia.local.firehose import LocalDelivery

    p, console, summary = demo.pipeline, demo.console, demo.summary
    demo.section("batch: Firehose -> raw -> Glue ETL -> crawlers -> Athena")
    stats = LocalDelivery(p).drain()
    summary["raw_records"] = count_lines(p, raw_to_gold.raw_prefix(p))
    summary["firehose_errors"] = count_lines(p, p.firehose.error_output_prefix.split("!{", 1)[0])
    console.print(f"local Firehose: {stats.records_read} records read, {len(stats.objects)} objects written; "
                  f"raw {summary['raw_records']}, errors {summary['firehose_errors']}")
    if not summary["raw_records"]:
        raise StageError(f"batch: Firehose delivered no record to s3://{p.buckets.raw}/{raw_to_gold.raw_prefix(p)} "
                         f"({stats.records_read} read from the stream, {summary['firehose_errors']} to the error prefix)")
    counts = raw_to_gold.run(spark_local.session(aws.endpoint(), p.region), p)
    summary.update({k: counts[k] for k in ("gold_rows", "quarantined", "duplicates_dropped", "already_quarantined")})
    console.print(f"Glue ETL: {json.dumps(counts)}")  # includes the seconds per phase
    if not counts["gold_rows"]:
        raise StageError(f"batch: the Glue ETL wrote no gold row from {summary['raw_records']} raw records "
                         f"({counts['quarantined']} quarantined, {counts['duplicates_dropped']} duplicates)")
    for name, r in LocalCrawler(p).crawl_all().items():
        console.print(f"crawler {name}: tables created {r.tables_created}, {r.partitions_added} partitions added")
    athena = LocalAthena(p)
    try:
        day = first_day(athena)
    except AthenaError as err:
        raise StageError(f"batch: the gold events table cannot be queried after the crawl: {err}") from None
    summary["queries_ok"], results = run_queries(athena, {"hourly_rollup": [day], "top_entities": [day]}, console)
    if "top_entities" in results:
        console.print(result_table(results["top_entities"], title=f"athena/queries/top_entities.sql (from {day})"))
