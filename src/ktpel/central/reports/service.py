"""What the central dashboard pages do: build the national dashboard for a requested period."""

from __future__ import annotations

import datetime as dt

from ktpel.central.reports.central import central_dashboard
from ktpel.domain.events import utcnow
from ktpel.reports.period import Period, local_today, resolve_period
from ktpel.store.db import Database


def view_central_dashboard(db: Database, *, dari: str | None, sampai: str | None, regions=None,  # noqa: ANN001
                           now: dt.datetime | None = None) -> tuple[Period, dict]:
    """The central dashboard for the period."""
    now = now or utcnow()
    period = resolve_period(dari=dari, sampai=sampai, today=local_today(now))
    with db.unit_of_work() as s:
        return period, central_dashboard(s, period=period, now=now, regions=regions)
