"""The one "now" of the pipeline: every component that needs the current time asks `now()`.

Nothing else reads the wall clock for a decision (event age, future skew, partition times,
replay anchors), so a test can move time for a whole run in two ways:
- in-process: `with clock.shifted(days=3650): ...` or `with clock.frozen(instant): ...`;
- for child processes (the demo's services, the Flink job): the environment variable
  `VIGIA_CLOCK_OFFSET_S` (seconds, may be negative), which `shifted` also sets while it is active.
The offset form keeps time running, so timeouts and buffering behave as usual.
Durations (timeouts, benchmarks) use `time.monotonic()` and are not affected.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

ENV_OFFSET = "VIGIA_CLOCK_OFFSET_S"

_source: Callable[[], datetime] | None = None  # set by `frozen`; None reads the wall clock


def _wall() -> datetime:
    return datetime.now(timezone.utc)


def offset() -> timedelta:
    """The shift applied to the wall clock (from VIGIA_CLOCK_OFFSET_S), zero when unset."""
    raw = os.environ.get(ENV_OFFSET, "").strip()
    try:
        return timedelta(seconds=float(raw)) if raw else timedelta(0)
    except ValueError:
        raise ValueError(f"{ENV_OFFSET} must be a number of seconds, got {raw!r}") from None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    if _source is not None:
        return _source()
    return _wall() + offset()


def hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


@contextlib.contextmanager
def shifted(**delta: float) -> Iterator[timedelta]:
    """Move the clock by `timedelta(**delta)` for this process and the children it starts."""
    shift = timedelta(**delta)
    previous = os.environ.get(ENV_OFFSET)
    os.environ[ENV_OFFSET] = str((offset() + shift).total_seconds())
    try:
        yield shift
    finally:
        if previous is None:
            os.environ.pop(ENV_OFFSET, None)
        else:
            os.environ[ENV_OFFSET] = previous


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Stop the clock at `at` in this process (child processes are not affected)."""
    global _source
    previous, _source = _source, (lambda: at)
    try:
        yield at
    finally:
        _source = previous
