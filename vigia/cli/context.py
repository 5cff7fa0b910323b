"""What every command shares: the pipeline definition chosen by `vigia --pipeline` (or $VIGIA_PIPELINE)."""

from __future__ import annotations

import click

from vigia_core import config


def pipeline(ctx: click.Context) -> config.Pipeline:
    """The loaded definition; an invalid one ends the command with its errors, no traceback."""
    try:
        return config.load(ctx.find_root().obj.get("pipeline"))
    except config.ConfigError as err:
        raise click.ClickException(str(err)) from None
