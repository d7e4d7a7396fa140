"""Turnaround recording → PRR → printed → issued, as p50/p90 per week of hand-over."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.reports import cache
from ktpel.reports.period import day_start_utc, percentile, week_start
from ktpel.reports.sources import as_utc
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow
from ktpel.store.schema.reports import ReportCacheRow

OPEN_WEEK_TTL = dt.timedelta(minutes=5)
STAGES = ("rekam_prr", "prr_cetak", "cetak_ambil", "total")
STAGE_LABELS = {
    "rekam_prr": ("Rekam → PRR", "Recording → PRR"),
    "prr_cetak": ("PRR → cetak", "PRR → printed"),
    "cetak_ambil": ("Cetak → diambil", "Printed → collected"),
    "total": ("Rekam → diambil", "Recording → collected"),
}


def _days(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max(0.0, (as_utc(b) - as_utc(a)).total_seconds() / 86400)


def compute_week(session: Session, *, office_code: str, monday: dt.date) -> dict:
    """p50/p90 in days for cards handed over in the week starting `monday` (whole stages, from timestamps)."""
    lo, hi = day_start_utc(monday), day_start_utc(monday + dt.timedelta(days=7))
    prr_at = (
        select(func.min(DomainEventRow.at))
        .where(DomainEventRow.subject_id == EnrollmentRow.id, DomainEventRow.name == "enrollment.mark_print_ready")
        .correlate(EnrollmentRow).scalar_subquery()
    )
    rows = session.execute(
        select(EnrollmentRow.created_at, prr_at, CardRow.printed_at, CardRow.issued_at)
        .join(CardRow, CardRow.enrollment_id == EnrollmentRow.id)
        .where((EnrollmentRow.office_code + "") == office_code, CardRow.issued_at >= lo, CardRow.issued_at < hi)
    ).all()
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    for created, prr, printed, issued in rows:
        for stage, value in (("rekam_prr", _days(created, prr)), ("prr_cetak", _days(prr, printed)),
                             ("cetak_ambil", _days(printed, issued)), ("total", _days(created, issued))):
            if value is not None:
                samples[stage].append(value)
    out: dict = {"week": monday.isoformat(), "n": len(rows)}
    for stage in STAGES:
        p50, p90 = percentile(samples[stage], 0.5), percentile(samples[stage], 0.9)
        out[f"{stage}_p50"] = None if p50 is None else round(p50, 1)
        out[f"{stage}_p90"] = None if p90 is None else round(p90, 1)
    return out


def weekly_turnaround(session: Session, *, office_code: str, start: dt.date, end: dt.date,
                      today: dt.date) -> list[dict]:
    """One row per week in [start, end]; weeks that are over come from the cache."""
    weeks = []
    monday = week_start(start)
    while monday <= end:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    keys = {m: f"turnaround:v1:{office_code}:{m.isoformat()}" for m in weeks}
    cached = {key: (payload, as_utc(at)) for key, payload, at in session.execute(
        select(ReportCacheRow.key, ReportCacheRow.payload, ReportCacheRow.computed_at)
        .where(ReportCacheRow.key.in_(list(keys.values()))))}
    now = utcnow()
    out = []
    for m in weeks:
        closed = m + dt.timedelta(days=7) < today - dt.timedelta(days=1)
        hit = cached.get(keys[m])
        # a week still running is recomputed at most every OPEN_WEEK_TTL: a p90 does not move by the minute
        if hit is not None and (closed or now - hit[1] < OPEN_WEEK_TTL):
            out.append(hit[0])
            continue
        row = compute_week(session, office_code=office_code, monday=m)
        cache.store(session, [(keys[m], row)], now=now)
        out.append(row)
    return out
