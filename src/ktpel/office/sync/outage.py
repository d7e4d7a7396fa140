"""Outage state of the office (gangguan koneksi ke pusat): reachability, history, announcements, banner.

When an outage ends, every hook the caller hands in (the office composition's `SYNC.outage_ended`) is
called as `fn(session, *, outage_id, started_at, ended_at)` in the transaction that closes the outage.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.store.schema.sync import LinkRow, OfficeAnnouncementRow, OutageRow
from ktpel.sync.wiring import HandlerContext
from ktpel.office.sync.outbox import queued_count

log = logging.getLogger("ktpel.office.sync.outage")


@dataclass(frozen=True)
class Announcement:
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    message_id: str
    message_en: str

    def active(self, now: dt.datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or now < self.ends_at)


@dataclass(frozen=True)
class OutageState:
    """What the banner and the /sinkron page show."""

    reachable: bool
    since: dt.datetime | None  # start of the current outage (or of the current reachable period)
    queued: int
    last_success: dt.datetime | None
    announcement: Announcement | None  # the active or next maintenance window, if any
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None


def link(session: Session) -> LinkRow:
    """The single link row, created on first use."""
    row = session.get(LinkRow, 1)
    if row is None:
        row = LinkRow(id=1, reachable=True, since=None, failures=0, event_cursor=0)
        session.add(row)
        session.flush()
    return row


def current_announcement(session: Session, *, now: dt.datetime | None = None) -> Announcement | None:
    """The maintenance window in force now, else the next one announced."""
    now = now or utcnow()
    rows = session.scalars(select(OfficeAnnouncementRow).where(
        or_(OfficeAnnouncementRow.ends_at.is_(None), OfficeAnnouncementRow.ends_at > now))
        .order_by(OfficeAnnouncementRow.starts_at))
    found = [Announcement(r.id, r.starts_at, r.ends_at, r.message_id, r.message_en) for r in rows]
    active = [a for a in found if a.active(now)]
    return (active or found or [None])[0]


def current_state(session: Session) -> OutageState:
    """Whether central is reachable, since when, how much waits, last success, and any announcement."""
    row = session.get(LinkRow, 1)
    return OutageState(
        reachable=True if row is None else row.reachable,
        since=None if row is None else row.since,
        queued=queued_count(session),
        last_success=None if row is None else row.last_success,
        announcement=current_announcement(session),
        last_error=None if row is None else row.last_error,
        next_attempt_at=None if row is None else row.next_attempt_at,
    )


def record_failure(session: Session, *, cause: str, next_attempt_at: dt.datetime | None) -> bool:
    """Central did not answer; opens an outage on the first failure. Returns True when one opened."""
    row = link(session)
    now = utcnow()
    row.last_attempt = now
    row.last_error = cause[:500]
    row.failures += 1
    row.next_attempt_at = next_attempt_at
    if not row.reachable:
        return False
    outage = OutageRow(started_at=now, cause=cause[:500], queued_at_start=queued_count(session))
    session.add(outage)
    session.flush()
    row.reachable, row.since, row.current_outage_id = False, now, outage.id
    return True


def record_success(session: Session, *, context: HandlerContext,
                   ended_hooks: Sequence[Callable[..., None]] = ()) -> OutageRow | None:
    """Central answered; closes the current outage and runs `ended_hooks` (each gets the `context`, as event
    handlers do). Returns the closed outage."""
    row = link(session)
    now = context.clock()
    row.last_attempt = row.last_success = now
    row.failures, row.next_attempt_at, row.last_error = 0, None, None
    if row.reachable:
        if row.since is None:
            row.since = now
        return None
    outage = session.get(OutageRow, row.current_outage_id) if row.current_outage_id else None
    row.reachable, row.since, row.current_outage_id = True, now, None
    if outage is None:
        return None
    outage.ended_at = now
    session.flush()
    for hook in ended_hooks:
        try:
            # a savepoint per hook: a failing hook must not keep receipts from being recorded
            with session.begin_nested():
                hook(session, context=context, outage_id=outage.id, started_at=outage.started_at, ended_at=now)
        except Exception:  # noqa: BLE001 - logged; the outage is still closed
            log.exception("outage-ended hook %s failed", getattr(hook, "__qualname__", hook))
    return outage


def report_to_central(session: Session, *, outage_id: object, started_at: dt.datetime, ended_at: dt.datetime,
                      **_: object) -> None:
    """ENDED hook: the closed outage goes to central as a packet (kind `outage.report`), so the national
    view shows when and how long each regency was cut off, not only when it was last heard from."""
    from ktpel.office.sync.outbox import enqueue_packet

    outage = session.get(OutageRow, outage_id)
    enqueue_packet(session, kind="outage.report", subject_id=f"outage-{outage_id}", payload={
        "outage_id": outage_id, "started_at": started_at.isoformat(), "ended_at": ended_at.isoformat(),
        "duration_s": round((ended_at - started_at).total_seconds(), 1),
        "cause": (outage.cause if outage is not None else "")[:200],
        "queued_at_start": outage.queued_at_start if outage is not None else 0,
        "queued_at_end": queued_count(session)})


def outage_history(session: Session, *, limit: int = 20) -> list[OutageRow]:
    return list(session.scalars(select(OutageRow).order_by(OutageRow.started_at.desc()).limit(limit)))


def _fmt(t: dt.datetime | None) -> str:
    if t is None:
        return "-"
    # offices read local time; Lampung is WIB (UTC+7)
    return t.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%d-%m-%Y %H:%M WIB")


def banner_for(state: OutageState, *, now: dt.datetime | None = None) -> dict | None:
    """The banner of every office page: an outage, or an announced maintenance window; None when all is well."""
    now = now or utcnow()
    ann = state.announcement
    if not state.reachable:
        text_id = (f"Koneksi ke pusat terputus sejak {_fmt(state.since)}. Perekaman tetap berjalan; "
                   f"{state.queued} paket menunggu kirim. Terakhir berhasil: {_fmt(state.last_success)}.")
        text_en = (f"No connection to central since {_fmt(state.since)}. Recording continues; "
                   f"{state.queued} packets queued. Last success: {_fmt(state.last_success)}.")
        if ann is not None and ann.ends_at is not None:
            text_id += f" Pemeliharaan pusat diumumkan selesai {_fmt(ann.ends_at)}."
            text_en += f" Central announced maintenance until {_fmt(ann.ends_at)}."
        return {"level": "bad", "text_id": text_id, "text_en": text_en}
    if ann is not None:
        window_id = f"{_fmt(ann.starts_at)} s.d. {_fmt(ann.ends_at)}"
        window_en = f"{_fmt(ann.starts_at)} to {_fmt(ann.ends_at)}"
        level = "warn" if ann.active(now) else "info"
        return {"level": level, "text_id": f"Pemeliharaan pusat {window_id}: {ann.message_id}",
                "text_en": f"Central maintenance {window_en}: {ann.message_en or ann.message_id}"}
    return None
