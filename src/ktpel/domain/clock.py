"""The one clock: every decision that depends on the time of day or the date reads it here.

Code asks `now()` (aware UTC) or `today_wib()`; nothing else in ktpel calls `datetime.now()` or
`date.today()`. Tests and operators move it without touching the machine's clock:

- `travel(to=...)` makes the clock read `to` now and keep flowing from there (leases, back-off and
  lockouts still expire as they would);
- `freeze(at=...)` stops it at `at` until `advance()` moves it;
- `reset()` returns to the system clock.

A process started by a test (a server, a worker) follows the test's clock through the environment:
`KTPEL_CLOCK_OFFSET_S`, the seconds to add to the system clock, applied by `ktpel.config` at start-up
(`offset_seconds()` gives the value to pass down).

Pure apart from reading the system clock; no I/O.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from typing import Iterator

UTC = dt.timezone.utc
# Indonesia keeps no daylight saving: WIB (Western Indonesian Time, Lampung and Java) is always UTC+7.
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


class _State:
    # `offset` shifts the system clock; `frozen_at` pins it (then `offset` is unused).
    offset = dt.timedelta(0)
    frozen_at: dt.datetime | None = None


def _system() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), UTC)


def now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    if _State.frozen_at is not None:
        return _State.frozen_at
    return _system() + _State.offset


def today_wib() -> dt.date:
    """Today's date in WIB: a person's day at a Lampung or Java office, not the UTC day."""
    return now().astimezone(WIB).date()


def wib_date(at: dt.datetime) -> dt.date:
    """The office's (WIB) date of an instant: from 17:00 UTC on, that is already the next day."""
    return _aware(at).astimezone(WIB).date()


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("the clock takes aware datetimes only (add a time zone)")
    return at.astimezone(UTC)


def travel(*, to: dt.datetime) -> None:
    """Make the clock read `to` now; it keeps flowing from there."""
    _State.frozen_at = None
    _State.offset = _aware(to) - _system()


def freeze(*, at: dt.datetime) -> None:
    """Stop the clock at `at` until `advance`, `travel` or `reset`."""
    _State.frozen_at = _aware(at)


def advance(delta: dt.timedelta) -> None:
    """Move the clock forward (or back, with a negative delta), frozen or flowing."""
    if _State.frozen_at is not None:
        _State.frozen_at += delta
    else:
        _State.offset += delta


def shift(*, seconds: float) -> None:
    """Flow `seconds` ahead of the system clock (what a child process is told by its parent)."""
    _State.frozen_at = None
    _State.offset = dt.timedelta(seconds=seconds)


def reset() -> None:
    """Back to the system clock."""
    _State.frozen_at = None
    _State.offset = dt.timedelta(0)


def offset_seconds() -> float:
    """Seconds between this clock and the system clock, to hand to a child process."""
    return (now() - _system()).total_seconds()


@contextmanager
def frozen(*, at: dt.datetime) -> Iterator[None]:
    """`freeze` for the duration of a block, then back to what the clock was."""
    saved = (_State.offset, _State.frozen_at)
    freeze(at=at)
    try:
        yield
    finally:
        _State.offset, _State.frozen_at = saved
