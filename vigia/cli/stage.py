"""What a demo stage gets and what it raises.

A stage is a function `demo_stage(demo: Demo) -> None`, kept in the CLI module of the command that
runs the same step alone: it does its part, prints what an operator would want to see, and adds its
keys to `demo.summary` (written to .local/demo-summary.json at the end). When it can say why it
cannot go on (no input, every item rejected, a job that died) it raises StageError: `vigia demo`
prints the message, keeps the summary so far, and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from vigia import simulator
from vigia_core.config import Pipeline


@dataclass
class Demo:
    pipeline: Pipeline
    sim: simulator.Settings
    sim_url: str
    console: Console
    summary: dict = field(default_factory=dict)

    def section(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")


class StageError(RuntimeError):
    """A diagnosed stop: one or two lines that say what happened and why, no traceback."""
