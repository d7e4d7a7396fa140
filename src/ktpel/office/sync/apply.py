"""Applying central's events at the office, in order, exactly once (the cursor moves in the same transaction).

Sync only moves the events: the handlers per kind come from the office's composition module
(`ktpel.office.composition.SYNC`) and are called as `fn(session, *, context, seq, kind, subject_id, data)`
(`context`: a `HandlerContext`, the office's settings and clock). All
handlers of one event and the cursor advance run in ONE transaction: either the event is applied with
every handler's effect, or it is retried later. Sync verifies a print authorisation once on receipt and
hands the signed card to the handlers as `data["_card"]`; it keeps the announcements it shows itself.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from ktpel.store.db import Database
from ktpel.store.schema.core import DomainEventRow
from ktpel.store.schema.sync import OfficeAnnouncementRow
from ktpel.sync import authorisation
from ktpel.office.sync.outage import link
from ktpel.sync.wiring import HandlerContext, OfficeHandlers

log = logging.getLogger("ktpel.sync.office")


def apply_announcement(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                       data: dict) -> None:
    """`announcement`: central's notice for every office, shown in the banner while it lasts."""
    ann_id = int(data["id"])
    row = session.get(OfficeAnnouncementRow, ann_id) or OfficeAnnouncementRow(id=ann_id)
    row.starts_at = dt.datetime.fromisoformat(data["starts_at"])
    row.ends_at = dt.datetime.fromisoformat(data["ends_at"]) if data.get("ends_at") else None
    row.message_id = data.get("message_id", "")
    row.message_en = data.get("message_en", "")
    row.received_at = context.clock()
    session.merge(row)


def apply_events(db: Database, *, events: list[dict], handlers: OfficeHandlers, context: HandlerContext,
                 central_keys: dict | None = None) -> int:
    """Apply events in sequence order, one transaction each; returns how many were newly applied.

    Every handler gets `context` (the office's settings and clock), as central's intake handlers do."""
    applied = 0
    for event in sorted(events, key=lambda e: e["seq"]):
        with db.unit_of_work() as s:
            row = link(s)
            if event["seq"] <= row.event_cursor:
                continue  # already applied: idempotent on re-delivery
            if event["seq"] != row.event_cursor + 1:
                log.warning("event gap: cursor %s, got %s", row.event_cursor, event["seq"])
                break
            data = dict(event.get("data") or {})
            if central_keys is not None and event["kind"] == "enrollment.print_ready":
                try:
                    # verified once here; the handler takes the signed card from `_card`
                    data["_card"] = authorisation.verify(str(data.get("authorisation", "")),
                                                         public_keys=central_keys)
                except authorisation.InvalidAuthorisation as exc:
                    # never print from a token we cannot verify; record it and keep the stream moving
                    log.error("event %s: %s", event["seq"], exc.message_en)
                    s.add(DomainEventRow(name="sync.event_refused", subject_id=str(event["subject_id"])[:40],
                                         data={"seq": event["seq"], "kind": event["kind"], "reason": exc.reason}))
                    row.event_cursor = event["seq"]
                    continue
            for handler in handlers.events.get(event["kind"], ()):
                handler(s, context=context, seq=event["seq"], kind=event["kind"], subject_id=event["subject_id"],
                        data=data)
            row.event_cursor = event["seq"]
        applied += 1
    return applied
