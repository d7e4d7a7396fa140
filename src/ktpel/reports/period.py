"""The reporting period a page asks for (`?dari=…&sampai=…`), made sensible whatever was typed.

Pure: no I/O. Days are office-local (WIB, UTC+7): "today" at the counter at 06:00 is not yesterday in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ktpel.domain.clock import WIB, now as clock_now
DEFAULT_DAYS = 56  # eight weeks: long enough to see a trend, short enough to read
MAX_DAYS = 366 * 2  # a wider window says nothing a monthly report does not, and costs a long scan
EARLIEST = dt.date(2011, 1, 1)  # KTP-El began in 2011; nothing can be older


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date at the office (WIB)."""
    return (now or clock_now()).astimezone(WIB).date()


def day_start_utc(day: dt.date) -> dt.datetime:
    """The UTC instant a local (WIB) day begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=WIB).astimezone(dt.timezone.utc)


def week_start(day: dt.date) -> dt.date:
    """Monday of the week holding `day`."""
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Period:
    """An inclusive range of local days, and what was corrected to get it."""

    start: dt.date
    end: dt.date
    notes: list[tuple[str, str]] = field(default_factory=list)  # (Bahasa Indonesia, English)

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def as_dict(self) -> dict:
        return {"dari": self.start.isoformat(), "sampai": self.end.isoformat(),
                "notes": [{"id": a, "en": b} for a, b in self.notes]}


def _parse(raw: str | None, label: str, notes: list) -> dt.date | None:
    if raw is None or not raw.strip():
        return None
    try:
        return dt.date.fromisoformat(raw.strip()[:10])
    except ValueError:
        notes.append((f"Tanggal '{label}' tidak dikenali ({raw[:20]!s}); memakai bawaan.",
                      f"Date '{label}' not understood ({raw[:20]!s}); using the default."))
        return None


def resolve_period(*, dari: str | None, sampai: str | None, today: dt.date) -> Period:
    """Turn user input into a period: defaults, swapped if reversed, clamped to what can exist."""
    notes: list[tuple[str, str]] = []
    start = _parse(dari, "dari", notes)
    end = _parse(sampai, "sampai", notes)
    if end is None:
        end = today
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
        notes.append(("Tanggal 'dari' setelah 'sampai'; keduanya ditukar.",
                      "'From' was after 'to'; the two were swapped."))
    if end > today:
        end = today
        notes.append(("Tanggal di masa depan dipotong sampai hari ini.", "Future dates were cut to today."))
    if start < EARLIEST:
        start = EARLIEST
        notes.append(("Tanggal sebelum 2011 (awal KTP-El) dipotong.", "Dates before 2011 (KTP-El start) were cut."))
    if start > end:
        start = end
    if (end - start).days + 1 > MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
        notes.append((f"Rentang dibatasi {MAX_DAYS} hari.", f"The range was limited to {MAX_DAYS} days."))
    return Period(start=start, end=end, notes=notes)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (what a spreadsheet user would recompute by hand); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]
