"""A query result for a terminal or a script: a table (vertical when too wide), CSV or JSON.

Values are printed as the Athena console prints them: timestamps `2026-11-01 10:00:00.000` (with
the zone name for a `timestamp with time zone`), maps `{k=v}`, arrays `[a, b]`, NULL as NULL.
Under a table, the run time and data scanned, in the console's words and units.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

_UNITS = ("B", "KB", "MB", "GB", "TB")


def text(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, datetime):
        s = v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond // 1000:03d}"
        return f"{s} {getattr(v.tzinfo, 'key', None) or v.strftime('%z') or 'UTC'}" if v.tzinfo else s
    if isinstance(v, dict):
        return "{" + ", ".join(f"{text(k)}={text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(text(x) for x in v) + "]"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _plain(v):
    """A value for JSON: numbers and strings as they are, times as Athena's text."""
    if isinstance(v, (datetime, date)):
        return text(v) if isinstance(v, datetime) else v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def data_scanned(n: int | None) -> str:
    """Bytes as the Athena console shows data scanned: `0 KB`, `2.89 KB`, `1.23 MB`."""
    if n is None:
        return "unknown"
    size, unit = float(n), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{size:.2f} {_UNITS[unit]}" if unit else f"{n / 1024:.2f} KB"


def run_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.3f} sec"


def table(result, title: str | None = None, max_rows: int = 50, width: int = 80):
    """A rich renderable: a grid when every column fits in `width`, else one block per row
    (`column | value`, long values wrapped) so that no value is cut."""
    rows = [[text(v) for v in row] for row in result.rows[:max_rows]]
    caption = f"{len(result.rows)} row(s)" + (f", first {max_rows} shown" if len(result.rows) > max_rows else "")
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(result.columns)]
    if sum(widths) + 3 * len(widths) + 1 <= width:
        t = Table(title=title, caption=caption)
        for c in result.columns:
            t.add_column(c, overflow="fold")
        for r in rows:
            t.add_row(*r)
        return t
    label = max((len(c) for c in result.columns), default=0)
    blocks: list = [Text(title, style="bold")] if title else []
    for n, r in enumerate(rows, 1):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=label, no_wrap=True)
        grid.add_column(overflow="fold")
        for c, v in zip(result.columns, r):
            grid.add_row(c, "| " + v)
        blocks += [Text(f"-[ RECORD {n} ]" + "-" * max(0, min(width, label + 20) - 12 - len(str(n))), style="dim"), grid]
    blocks.append(Text(caption, style="dim italic"))
    return Group(*blocks)


def to_csv(result) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(result.columns)
    for row in result.rows:
        w.writerow(["" if v is None else text(v) for v in row])
    return out.getvalue()


def to_json(result) -> str:
    return json.dumps([dict(zip(result.columns, (_plain(v) for v in row))) for row in result.rows], indent=1)


def print_result(result, fmt: str, bytes_scanned: int | None, console: Console | None = None) -> None:
    console = console or Console()
    stats = f"Run time: {run_time(result.run_time_s)}    Data scanned: {data_scanned(bytes_scanned)}"
    if fmt == "csv":
        console.file.write(to_csv(result))
    elif fmt == "json":
        console.file.write(to_json(result) + "\n")
    else:
        console.print(table(result, width=console.width))
        console.print(stats)
