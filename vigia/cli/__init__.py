"""The `vigia` command line: run the pipeline, or one stage of it, on the local runtime."""

from __future__ import annotations

import json
import sys

import click

from vigia import config
from vigia.local import aws, provision, services
from vigia.stage import StageError


def _pipeline(ctx: click.Context) -> config.Pipeline:
    try:
        return config.load(ctx.obj.get("pipeline"))
    except config.ConfigError as err:
        raise click.ClickException(str(err)) from None


@click.group()
@click.option("--pipeline", "pipeline_path", envvar=config.ENV_PATH, default=None,
              help="Pipeline definition (default: pipeline.yaml at the repo root).")
@click.pass_context
def main(ctx: click.Context, pipeline_path: str | None) -> None:
    """Vigia: events in, alerts out in seconds, clean tables for SQL by the hour."""
    ctx.ensure_object(dict)["pipeline"] = pipeline_path


@main.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start the local AWS endpoint (moto) and provision the pipeline's resources on it."""
    p = _pipeline(ctx)
    try:
        pid, started = aws.start()
    except services.PortInUse as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"moto server {'started' if started else 'already running'} at {aws.endpoint()} (pid {pid})")
    changes = provision.provision(p)
    created = [c for c in changes if c.action == "created"]
    for c in changes:
        click.echo(f"  {c.action:8} {c.kind}: {c.name}")
    click.echo(f"{len(created)} created, {len(changes) - len(created)} already present")


@main.command()
def down() -> None:
    """Stop every local service that `vigia up`/`vigia demo` started (by PID file)."""
    names = services.known()
    for name in names:
        click.echo(f"{'stopped' if services.stop(name) else 'not running'}: {name}")
    if not names:
        click.echo("nothing to stop")


@main.command()
def status() -> None:
    """Show the local services and whether they run."""
    for name in services.known() or []:
        pid = services.running_pid(name)
        click.echo(f"{name}: {'running (pid %d)' % pid if pid else 'stopped'}")


@main.command("validate")
@click.pass_context
def validate_cmd(ctx: click.Context) -> None:
    """Validate the pipeline definition and print a short overview."""
    p = _pipeline(ctx)
    click.echo(f"ok: stream {p.stream.name}, {len(p.producer.sources)} sources, {len(p.rules)} rules")


@main.command()
@click.option("--source", "sources", multiple=True, help="Source name (repeatable); default: the local ones.")
@click.pass_context
def produce(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Poll the sources once, as the scheduled Lambda does, against the local endpoint."""
    from vigia import ingest

    p = _pipeline(ctx)
    aws.use(p.region)
    click.echo(json.dumps(ingest.produce(p, list(sources) or None), indent=2))


@main.command("read-stream")
@click.option("--show", default=3, help="How many events to print.")
@click.pass_context
def read_stream(ctx: click.Context, show: int) -> None:
    """Read the whole local stream back (all shards, from the start)."""
    from vigia import ingest

    p = _pipeline(ctx)
    aws.use(p.region)
    records = ingest.read_records(p)
    click.echo(f"{len(records)} records in {p.stream.name}")
    for r in records[:show]:
        click.echo(r.decode(errors="replace"))


@main.command()
@click.option("--seed", type=int, default=None, help="Simulator seed (default: the simulator's).")
@click.option("--count", type=int, default=None, help="Simulator items to replay.")
@click.pass_context
def demo(ctx: click.Context, seed: int | None, count: int | None) -> None:
    """Run the whole pipeline locally on the simulator's data and summarise what happened."""
    from vigia import demo as demo_mod, simulator

    defaults = simulator.Settings()
    settings = simulator.Settings(seed=seed if seed is not None else defaults.seed,
                                  count=count if count is not None else defaults.count)
    try:
        demo_mod.run(_pipeline(ctx), settings)
    except (StageError, services.PortInUse) as err:
        raise click.ClickException(str(err)) from None


from vigia import batch_cli  # noqa: E402  (firehose, etl, crawl, query)

batch_cli.register(main)

if __name__ == "__main__":
    sys.exit(main())
