"""`vigia up`, `down`, `status`: the local AWS endpoint (moto) with the pipeline's resources, and
the background services the commands started (by PID file under .local/pids)."""

from __future__ import annotations

import click

from vigia.cli.context import pipeline
from vigia.local import aws, provision, services


@click.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start the local AWS endpoint (moto) and provision the pipeline's resources on it."""
    p = pipeline(ctx)
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


@click.command()
def down() -> None:
    """Stop every local service that `vigia up`/`vigia demo` started (by PID file)."""
    names = services.known()
    for name in names:
        click.echo(f"{'stopped' if services.stop(name) else 'not running'}: {name}")
    if not names:
        click.echo("nothing to stop")


@click.command()
def status() -> None:
    """Show the local services and whether they run."""
    for name in services.known() or []:
        pid = services.running_pid(name)
        click.echo(f"{name}: {'running (pid %d)' % pid if pid else 'stopped'}")


COMMANDS = [up, down, status]
