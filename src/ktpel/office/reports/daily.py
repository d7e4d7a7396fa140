"""Counts per office-local day, cached for days that are over.

A year of history is a few million event rows; grouping them on every page view would break the 300 ms
budget. A day that is over no longer changes (sync applies late events at the time they arrive),
so their counts are computed once into `report_cache` and read back as a handful of small rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.reports import cache
from ktpel.reports.period import day_start_utc
from ktpel.reports.sources import as_date, local_day, table, table_like
from ktpel.store.schema.core import DomainEventRow, EnrollmentRow
from ktpel.store.schema.reports import ReportCacheRow

# metric -> domain event name published by the state machines (domain/enrollment.py)
EVENT_METRICS: dict[str, str] = {
    "queued": "enrollment.queue",
    "sent": "enrollment.mark_sent",
    "received": "enrollment.receive",
    "prr": "enrollment.mark_print_ready",
    "resolved": "enrollment.keep_after_resolution",
    "adjudication": "enrollment.send_to_adjudication",
    "failed": "enrollment.fail",
    "duplicate": "enrollment.mark_duplicate",
    "printed": "card.print",
    "spoiled": "card.spoil",
    "issued": "card.issue",
    "revoked": "card.revoke",
}
# blank batches arriving at the office: central's allocation event, or the ledger's own receipt event
BLANK_EVENTS = ("blanks.allocated", "blanks.received", "blank.batch_received")
METRICS = ("recordings", *EVENT_METRICS, "blanks_received")
CACHE_VERSION = 2


def _blank_count(data: dict) -> int:
    """Blanks in one batch event: an explicit count, or the serial list / range it carries."""
    if not isinstance(data, dict):
        return 0
    for key in ("count", "quantity", "jumlah"):
        if isinstance(data.get(key), int):
            return data[key]
    if isinstance(data.get("serials"), list):
        return len(data["serials"])
    return 0


def compute_days(session: Session, *, office_code: str, start: dt.date, end: dt.date) -> dict[dt.date, dict]:
    """Counts of every metric for each local day in [start, end], straight from the tables."""
    lo, hi = day_start_utc(start), day_start_utc(end + dt.timedelta(days=1))
    out = {start + dt.timedelta(days=i): dict.fromkeys(METRICS, 0) for i in range((end - start).days + 1)}
    day = local_day(session, EnrollmentRow.created_at)
    # `office_code || ''` keeps the planner on the created_at index (every row of an office DB has one code)
    for d, n in session.execute(
        select(day, func.count()).where(
            (EnrollmentRow.office_code + "") == office_code,
            EnrollmentRow.created_at >= lo, EnrollmentRow.created_at < hi,
        ).group_by(day)
    ):
        out.setdefault(as_date(d), dict.fromkeys(METRICS, 0))["recordings"] = n
    metric_of = {v: k for k, v in EVENT_METRICS.items()}
    day = local_day(session, DomainEventRow.at)
    # names filtered here, not in SQL: an IN on the name index would make SQLite scan every event of a year
    for d, name, n in session.execute(
        select(day, DomainEventRow.name, func.count()).where(
            DomainEventRow.at >= lo, DomainEventRow.at < hi,
        ).group_by(day, DomainEventRow.name)
    ):
        if name in metric_of:
            out.setdefault(as_date(d), dict.fromkeys(METRICS, 0))[metric_of[name]] += n
    batches = table("blank_batches", "count", "received_at")
    if batches is not None:  # the printing capability's ledger: the truth about blanks received
        bday = local_day(session, batches.c.received_at)
        found = session.execute(select(bday, func.sum(batches.c.count)).where(
            batches.c.received_at >= lo, batches.c.received_at < hi).group_by(bday)).all()
        for d, n in found:
            out.setdefault(as_date(d), dict.fromkeys(METRICS, 0))["blanks_received"] += int(n or 0)
    else:
        for at, data in session.execute(
            select(DomainEventRow.at, DomainEventRow.data).where(
                DomainEventRow.name.in_(BLANK_EVENTS), DomainEventRow.at >= lo, DomainEventRow.at < hi,
            )
        ):
            key = as_date(at.astimezone(dt.timezone(dt.timedelta(hours=7))))
            out.setdefault(key, dict.fromkeys(METRICS, 0))["blanks_received"] += _blank_count(data)
    # EFAC reasons per day, from the fail events themselves (the reason travels in the event's data)
    for at, data in session.execute(select(DomainEventRow.at, DomainEventRow.data).where(
            (DomainEventRow.name + "") == EVENT_METRICS["failed"],  # keep SQLite on the time index
            DomainEventRow.at >= lo, DomainEventRow.at < hi)):
        key = as_date(at.astimezone(dt.timezone(dt.timedelta(hours=7))))
        reason = str((data or {}).get("reason") or "-")[:120]
        reasons = out.setdefault(key, dict.fromkeys(METRICS, 0)).setdefault("reasons", {})
        reasons[reason] = reasons.get(reason, 0) + 1
    return {d: v for d, v in out.items() if start <= d <= end}


def _key(office_code: str, day: dt.date) -> str:
    return f"daily:v{CACHE_VERSION}:{office_code}:{day.isoformat()}"


CLOSE_GRACE = dt.timedelta(minutes=10)


def daily_counts(session: Session, *, office_code: str, start: dt.date, end: dt.date,
                 today: dt.date, now: dt.datetime | None = None) -> dict[dt.date, dict]:
    """Counts per day: cached days read back, missing closed days computed and cached, today live.

    Events are stamped when they happen, so a day that is over gains no rows; yesterday is cached once
    today is CLOSE_GRACE old, which leaves time for a transaction that straddled midnight to commit.
    """
    now = now or utcnow()
    settled = now >= day_start_utc(today) + CLOSE_GRACE
    closed_until = today - dt.timedelta(days=1 if settled else 2)
    result: dict[dt.date, dict] = {}
    if start <= closed_until:
        cache_end = min(end, closed_until)
        rows = session.execute(select(ReportCacheRow.key, ReportCacheRow.payload).where(
            and_(ReportCacheRow.key >= _key(office_code, start), ReportCacheRow.key <= _key(office_code, cache_end))
        ))
        for key, payload in rows:
            result[dt.date.fromisoformat(key.rsplit(":", 1)[1])] = {
                **{m: payload.get(m, 0) for m in METRICS}, "reasons": payload.get("reasons", {})}
        missing = [start + dt.timedelta(days=i) for i in range((cache_end - start).days + 1)]
        missing = [d for d in missing if d not in result]
        if missing:
            fresh = compute_days(session, office_code=office_code, start=missing[0], end=missing[-1])
            for d in missing:
                result[d] = fresh.get(d, dict.fromkeys(METRICS, 0))
            for chunk in range(0, len(missing), 500):
                cache.store(session, [(_key(office_code, d), result[d]) for d in missing[chunk:chunk + 500]],
                            now=utcnow())
    live_start = max(start, closed_until + dt.timedelta(days=1))
    if live_start <= end:
        result.update(compute_days(session, office_code=office_code, start=live_start, end=end))
    return dict(sorted(result.items()))


def forget(session: Session, *, office_code: str) -> None:
    """Drop the cached days of an office (after history was written into the past, e.g. by the demo)."""
    session.execute(ReportCacheRow.__table__.delete().where(
        ReportCacheRow.key.like(f"daily:v{CACHE_VERSION}:{office_code}:%")))
    session.execute(ReportCacheRow.__table__.delete().where(
        ReportCacheRow.key.like(f"turnaround:v{CACHE_VERSION}:{office_code}:%")))


def blank_ledger():  # noqa: ANN201
    """The printing capability's blank ledger table (serial + state), if it exists."""
    return table_like("blank", "serial", "state")
