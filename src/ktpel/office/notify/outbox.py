"""The notification outbox: message rows written in the caller's transaction, claimed atomically to send.

`enqueue` is the seam other capabilities call (docs/CONTRACTS.md). It writes one row per consenting phone
that takes SMS; a resident with no such phone (and who has not withdrawn consent on every phone) gets a
call-list entry for staff instead. Rows are deduplicated on a hash of (resident, trigger, recipient,
variables), so re-applying the same event never queues a second message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ktpel.domain.delivery import MessageState
from ktpel.domain.events import utcnow
from ktpel.office.notify.templates import check_trigger
from ktpel.store.schema.core import PhoneRow, ResidentRow
from ktpel.store.schema.notify import CallListRow, NotifyMessageRow

PENDING, SENDING, SENT, FAILED, SKIPPED = (s.value for s in MessageState)


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _clean(variables: dict) -> dict[str, str]:
    return {str(k): str(v) for k, v in (variables or {}).items() if v is not None}


def enqueue(session: Session, *, resident_id: int, trigger: str, variables: dict) -> list[str]:
    """Queue `trigger`'s message to every consenting SMS phone of the resident; return the message ids.

    An empty list means no message was queued: either the resident opted out everywhere, or a call-list
    entry was opened because no consenting phone takes SMS (see `call_list_entry_for`).
    """
    check_trigger(trigger)
    values = _clean(variables)
    phones = list(session.scalars(select(PhoneRow).where(PhoneRow.resident_id == resident_id)
                                  .order_by(PhoneRow.id)))
    ids: list[str] = []
    for phone in phones:
        if not (phone.consent and phone.takes_sms):
            continue
        dedupe = _key(resident_id, trigger, phone.number, values)
        existing = session.scalar(select(NotifyMessageRow.id).where(NotifyMessageRow.dedupe_key == dedupe))
        if existing is not None:
            ids.append(existing)
            continue
        row = NotifyMessageRow(
            id=uuid.uuid4().hex, dedupe_key=dedupe, resident_id=resident_id, phone_id=phone.id,
            trigger=trigger, channel="", recipient=phone.number, body="",
            variables=json.dumps(values, sort_keys=True), state=PENDING, attempts=0, next_attempt_at=utcnow(),
        )
        session.add(row)
        ids.append(row.id)
    if ids:
        session.flush()
        return ids
    opted_out = bool(phones) and not any(p.consent for p in phones)
    if not opted_out:
        _open_call(session, resident_id=resident_id, trigger=trigger, values=values)
    return []


def _open_call(session: Session, *, resident_id: int, trigger: str, values: dict[str, str]) -> CallListRow:
    dedupe = _key("call", resident_id, trigger, values)
    existing = session.scalar(select(CallListRow).where(CallListRow.dedupe_key == dedupe))
    if existing is not None:
        return existing
    # the text staff read out is composed when the list is shown (office settings live with the web app)
    row = CallListRow(resident_id=resident_id, trigger=trigger, dedupe_key=dedupe,
                      variables=json.dumps(values, sort_keys=True), state="OPEN", created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def call_list_entry_for(session: Session, *, resident_id: int, trigger: str) -> CallListRow | None:
    """The newest call-list entry of a resident for a trigger, if any."""
    return session.scalar(select(CallListRow).where(CallListRow.resident_id == resident_id,
                                                    CallListRow.trigger == trigger)
                          .order_by(CallListRow.id.desc()).limit(1))


@dataclass(frozen=True)
class Claimed:
    """A message this sender holds the lease of."""

    id: str
    token: str
    resident_id: int
    phone_id: int | None
    trigger: str
    recipient: str
    variables: dict
    attempts: int


def claim_due(session: Session, *, now: dt.datetime, limit: int, lease_s: float) -> list[Claimed]:
    """Take the lease of up to `limit` due messages, each by a compare-and-set update.

    The UPDATE only succeeds while the row is still PENDING (or its previous lease expired), so two
    senders — threads, processes, or machines on PostgreSQL — never hold the same message.
    """
    due = session.execute(
        select(NotifyMessageRow.id, NotifyMessageRow.state, NotifyMessageRow.claimed_until)
        .where(((NotifyMessageRow.state == PENDING) & (NotifyMessageRow.next_attempt_at <= now))
               | ((NotifyMessageRow.state == SENDING) & (NotifyMessageRow.claimed_until < now)))
        .order_by(NotifyMessageRow.next_attempt_at).limit(limit)
    ).all()
    claimed: list[Claimed] = []
    until = now + dt.timedelta(seconds=lease_s)
    for mid, state, claimed_until in due:
        token = uuid.uuid4().hex
        cond = (NotifyMessageRow.state == PENDING) if state == PENDING else (
            (NotifyMessageRow.state == SENDING) & (NotifyMessageRow.claimed_until == claimed_until))
        result = session.execute(
            update(NotifyMessageRow).where(NotifyMessageRow.id == mid, cond)
            .values(state=SENDING, claim_token=token, claimed_until=until,
                    attempts=NotifyMessageRow.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        row = session.execute(
            select(NotifyMessageRow.resident_id, NotifyMessageRow.phone_id, NotifyMessageRow.trigger,
                   NotifyMessageRow.recipient, NotifyMessageRow.variables, NotifyMessageRow.attempts)
            .where(NotifyMessageRow.id == mid)).one()
        claimed.append(Claimed(id=mid, token=token, resident_id=row[0], phone_id=row[1], trigger=row[2],
                               recipient=row[3], variables=json.loads(row[4] or "{}"), attempts=row[5]))
    return claimed


def finish(session: Session, *, claimed: Claimed, state: str, channel: str = "", body: str | None = None,
           error: str | None = None, provider_id: str | None = None,
           next_attempt_at: dt.datetime | None = None) -> bool:
    """Record the outcome of a claimed message; False if the lease was lost meanwhile."""
    values: dict = {"state": state, "claim_token": None, "claimed_until": None, "last_error": error}
    if channel:
        values["channel"] = channel
    if body is not None:
        values["body"] = body
    if provider_id is not None:
        values["provider_id"] = provider_id
    if state == SENT:
        values["sent_at"] = utcnow()
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = session.execute(
        update(NotifyMessageRow).where(NotifyMessageRow.id == claimed.id,
                                       NotifyMessageRow.claim_token == claimed.token)
        .values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def resident_name(session: Session, *, resident_id: int) -> str:
    return session.scalar(select(ResidentRow.name).where(ResidentRow.id == resident_id)) or ""
