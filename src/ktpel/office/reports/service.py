"""What the office dashboard pages do: build the dashboard for a requested period."""

from __future__ import annotations

import datetime as dt

from ktpel.domain.events import utcnow
from ktpel.office.reports.office import office_dashboard
from ktpel.reports.period import Period, local_today, resolve_period
from ktpel.store.db import Database


def view_office_dashboard(db: Database, *, office_code: str, dari: str | None, sampai: str | None,
                          now: dt.datetime | None = None) -> tuple[Period, dict]:
    """The office dashboard for `?dari=…&sampai=…` (corrected when nonsensical)."""
    now = now or utcnow()
    today = local_today(now)
    period = resolve_period(dari=dari, sampai=sampai, today=today)
    with db.unit_of_work() as s:
        return period, office_dashboard(s, office_code=office_code, period=period, today=today, now=now)
