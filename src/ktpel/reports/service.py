"""What the dashboard pages do: build the office or central dashboard for a requested period."""

from __future__ import annotations

import datetime as dt

from ktpel.domain.events import utcnow
from ktpel.domain.errors import NotFound
from ktpel.central.reports.central import central_dashboard
from ktpel.office.reports.office import office_dashboard
from ktpel.reports.panels import Panel
from ktpel.reports.period import Period, local_today, resolve_period
from ktpel.store.db import Database


class UnknownTable(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Tabel laporan '{name[:40]}' tidak ada.", f"Report table '{name[:40]}' does not exist.",
                         code="report_table_unknown")


def view_office_dashboard(db: Database, *, office_code: str, dari: str | None, sampai: str | None,
                          now: dt.datetime | None = None) -> tuple[Period, dict]:
    """The office dashboard for `?dari=…&sampai=…` (corrected when nonsensical)."""
    now = now or utcnow()
    today = local_today(now)
    period = resolve_period(dari=dari, sampai=sampai, today=today)
    with db.unit_of_work() as s:
        return period, office_dashboard(s, office_code=office_code, period=period, today=today, now=now)


def view_central_dashboard(db: Database, *, dari: str | None, sampai: str | None, regions=None,  # noqa: ANN001
                           now: dt.datetime | None = None) -> tuple[Period, dict]:
    """The central dashboard for the period."""
    now = now or utcnow()
    period = resolve_period(dari=dari, sampai=sampai, today=local_today(now))
    with db.unit_of_work() as s:
        return period, central_dashboard(s, period=period, now=now, regions=regions)


def panel_of(data: dict, name: str) -> Panel:
    try:
        return data["panels"][name]
    except KeyError:
        raise UnknownTable(name) from None


def dashboard_json(period: Period, data: dict) -> dict:
    return {"period": period.as_dict(), **{k: v for k, v in data.items() if k != "panels"},
            "panels": {k: p.as_dict() for k, p in data["panels"].items()}}
