"""The office's blank ledger (buku blanko) in the database, every change ruled by the domain ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ktpel.domain import clock
from ktpel.domain.blanks import (
    Blank, BlankLedger, BlankState, BlankUnavailable, DuplicateSerial, NoBlankAvailable, Reconciliation, SpoilReason,
    UnknownSerial, days_to_stockout, serial_range, urgent_reserve,
)
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.store.schema.printing import BlankBatchRow, BlankMovementRow, BlankRow


class CardAlreadyInPrinter(KtpelError):
    code = "card_in_printer"
    http_status = 409

    def __init__(self, card_id: str) -> None:
        super().__init__("Kartu ini sedang dicetak oleh petugas lain.",
                         f"Card {card_id} is already being printed by another operator.")


def _domain(row: BlankRow) -> Blank:
    return Blank(serial=row.serial, batch_id=row.batch_id, state=BlankState(row.state), card_id=row.card_id,
                 reason=SpoilReason(row.reason) if row.reason else None, reserved_for=row.reserved_for)


def _move(session: Session, *, serial: str, before: str | None, after: str, actor: str,
          card_id: str | None = None, reason: str | None = None) -> None:
    now = utcnow()
    session.add(BlankMovementRow(serial=serial, from_state=before, to_state=after, card_id=card_id,
                                 reason=reason, actor=actor, day=clock.wib_date(now), at=now))


def receive_batch(session: Session, *, first_serial: str, last_serial: str, actor: str, source: str = "manual",
                  allocation_ref: str | None = None) -> BlankBatchRow:
    """Book a batch of blanks in by serial range; a central allocation already booked is returned as is."""
    if allocation_ref is not None:
        done = session.scalar(select(BlankBatchRow).where(BlankBatchRow.allocation_ref == allocation_ref))
        if done is not None:
            return done
    serials = serial_range(first_serial, last_serial)
    clash = session.scalar(select(BlankRow.serial).where(BlankRow.serial.in_(serials)).limit(1))
    if clash is not None:
        raise DuplicateSerial(clash)
    batch_id = "B" + uuid.uuid4().hex[:15]
    ledger = BlankLedger()
    ledger.receive_batch(batch_id=batch_id, serials=serials)
    batch = BlankBatchRow(id=batch_id, first_serial=serials[0], last_serial=serials[-1], count=len(serials),
                          source=source, allocation_ref=allocation_ref, received_by=actor, received_at=utcnow())
    session.add(batch)
    session.flush()
    now = utcnow()
    session.execute(BlankRow.__table__.insert(), [
        {"serial": s, "batch_id": batch_id, "state": BlankState.AVAILABLE.value, "changed_at": now}
        for s in serials
    ])
    session.execute(BlankMovementRow.__table__.insert(), [
        {"serial": s, "from_state": None, "to_state": BlankState.AVAILABLE.value, "actor": actor,
         "day": clock.wib_date(now), "at": now, "card_id": None, "reason": None}
        for s in serials
    ])
    return batch


def reserve_blank(session: Session, *, card_id: str, serial: str | None = None) -> str:
    """Take one blank into the printer for a card, atomically: two operators never get the same blank."""
    try:
        if serial is not None:
            row = session.get(BlankRow, serial)
            if row is None:
                raise UnknownSerial(serial)
            BlankLedger(blanks={serial: _domain(row)}).reserve(card_id=card_id, serial=serial)
            taken = session.execute(
                update(BlankRow)
                .where(BlankRow.serial == serial, BlankRow.state == BlankState.AVAILABLE.value,
                       BlankRow.reserved_for.is_(None))
                .values(reserved_for=card_id, reserved_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:  # another operator took it between our read and our update
                session.expire(row)
                row = session.get(BlankRow, serial)
                raise BlankUnavailable(serial, BlankState(row.state), reserved_for=row.reserved_for or "-")
            return serial
        for _ in range(50):
            candidate = session.scalar(
                select(BlankRow.serial)
                .where(BlankRow.state == BlankState.AVAILABLE.value, BlankRow.reserved_for.is_(None))
                .order_by(BlankRow.serial).limit(1).with_for_update(skip_locked=True)
            )
            if candidate is None:
                raise NoBlankAvailable()
            # the condition is re-checked under the row lock: a blank another operator took is skipped
            taken = session.execute(
                update(BlankRow)
                .where(BlankRow.serial == candidate, BlankRow.state == BlankState.AVAILABLE.value,
                       BlankRow.reserved_for.is_(None))
                .values(reserved_for=card_id, reserved_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken == 1:
                return candidate
        raise NoBlankAvailable()
    except IntegrityError:
        raise CardAlreadyInPrinter(card_id) from None


def release_blank(session: Session, *, serial: str) -> None:
    """Put a reserved blank back untouched (the job never reached the card)."""
    session.execute(update(BlankRow).where(BlankRow.serial == serial)
                    .values(reserved_for=None, reserved_at=None)
                    .execution_options(synchronize_session=False))


def _locked(session: Session, serial: str) -> BlankRow:
    row = session.scalar(select(BlankRow).where(BlankRow.serial == serial).with_for_update())
    if row is None:
        raise UnknownSerial(serial)
    return row


def use_blank(session: Session, *, serial: str, card_id: str, actor: str) -> None:
    """Bind one blank to one printed card (USED)."""
    row = _locked(session, serial)
    blank = _domain(row)
    BlankLedger(blanks={serial: blank}).use(serial, card_id=card_id)
    before = row.state
    row.state, row.card_id, row.reserved_for, row.reserved_at, row.changed_at = (
        blank.state.value, card_id, None, None, utcnow())
    _move(session, serial=serial, before=before, after=row.state, actor=actor, card_id=card_id)


def spoil_blank(session: Session, *, serial: str, reason: SpoilReason | str, actor: str) -> str | None:
    """Send a blank to the spoiled ledger; a USED one (misprinted card) returns the card it held."""
    row = _locked(session, serial)
    blank = _domain(row)
    ledger = BlankLedger(blanks={serial: blank})
    card_id = None
    if blank.state is BlankState.USED:
        card_id = ledger.spoil_used(serial, reason=SpoilReason(reason))
    else:
        ledger.spoil(serial, reason=SpoilReason(reason))
    before = row.state
    row.state, row.reason, row.reserved_for, row.reserved_at, row.changed_at = (
        blank.state.value, blank.reason.value, None, None, utcnow())
    _move(session, serial=serial, before=before, after=row.state, actor=actor, card_id=card_id or row.card_id,
          reason=row.reason)
    return card_id


def return_blank(session: Session, *, serial: str, actor: str) -> None:
    """Send an unused blank back to central."""
    row = _locked(session, serial)
    blank = _domain(row)
    BlankLedger(blanks={serial: blank}).return_(serial)
    before = row.state
    row.state, row.changed_at = blank.state.value, utcnow()
    _move(session, serial=serial, before=before, after=row.state, actor=actor)


def reconcile(session: Session) -> Reconciliation:
    """The ledger's balance now."""
    counts = dict(session.execute(select(BlankRow.state, func.count()).group_by(BlankRow.state)).all())
    reserved = session.scalar(select(func.count()).select_from(BlankRow).where(
        BlankRow.state == BlankState.AVAILABLE.value, BlankRow.reserved_for.is_not(None))) or 0
    return Reconciliation(
        received=sum(counts.values()), used=counts.get(BlankState.USED.value, 0), spoiled=counts.get(BlankState.SPOILED.value, 0),
        returned=counts.get(BlankState.RETURNED.value, 0), available=counts.get(BlankState.AVAILABLE.value, 0), reserved=reserved,
    )


@dataclass(frozen=True)
class DayBalance:
    """One day of the ledger: opening stock, movements, closing stock (rekonsiliasi harian)."""

    day: dt.date
    opening: int
    received: int
    used: int
    spoiled: int
    returned: int
    closing: int
    totals: Reconciliation  # cumulative at the end of the day
    spoiled_by_reason: dict[str, int]

    @property
    def balanced(self) -> bool:
        return (self.opening + self.received - self.used - self.spoiled - self.returned == self.closing
                and self.totals.balanced)


def _counts_until(session: Session, *, before: dt.date | None, on: dt.date | None = None) -> dict[str, int]:
    query = select(BlankMovementRow.to_state, BlankMovementRow.from_state, func.count())
    if before is not None:
        query = query.where(BlankMovementRow.day < before)
    if on is not None:
        query = query.where(BlankMovementRow.day == on)
    out = {"received": 0, BlankState.USED.value: 0, BlankState.SPOILED.value: 0, BlankState.RETURNED.value: 0, "spoiled_from_used": 0}
    for to_state, from_state, n in session.execute(query.group_by(BlankMovementRow.to_state,
                                                                  BlankMovementRow.from_state)):
        if from_state is None:
            out["received"] += n
        elif to_state == BlankState.SPOILED.value and from_state == BlankState.USED.value:
            out["spoiled_from_used"] += n
        elif to_state in out:
            out[to_state] += n
    return out


def day_balance(session: Session, *, day: dt.date) -> DayBalance:
    """Reconcile one day from the movement log."""
    before = _counts_until(session, before=day)
    today = _counts_until(session, before=None, on=day)

    def available(c: dict[str, int]) -> int:
        return c["received"] - c[BlankState.USED.value] - c[BlankState.SPOILED.value] - c[BlankState.RETURNED.value]

    opening = available(before)
    closing = opening + available(today)
    total = {k: before[k] + today[k] for k in before}
    reasons = dict(session.execute(
        select(BlankMovementRow.reason, func.count())
        .where(BlankMovementRow.day == day, BlankMovementRow.to_state == BlankState.SPOILED.value)
        .group_by(BlankMovementRow.reason)).all())
    # a misprinted card spoiled after printing moves USED → SPOILED: it leaves "used", not the stock
    used_total = total[BlankState.USED.value] - total["spoiled_from_used"]
    spoiled_total = total[BlankState.SPOILED.value] + total["spoiled_from_used"]
    return DayBalance(
        day=day, opening=opening, received=today["received"],
        used=today[BlankState.USED.value] - today["spoiled_from_used"], spoiled=today[BlankState.SPOILED.value] + today["spoiled_from_used"],
        returned=today[BlankState.RETURNED.value], closing=closing,
        totals=Reconciliation(received=total["received"], used=used_total, spoiled=spoiled_total,
                              returned=total[BlankState.RETURNED.value], available=available(total)),
        spoiled_by_reason={k or "-": v for k, v in reasons.items()},
    )


@dataclass(frozen=True)
class Stock:
    available: int
    reserved: int
    consumed_last_days: int
    window_days: int
    days_to_stockout: float | None
    urgent_reserve: int


def stock(session: Session, *, reserve_share: float, window_days: int = 14,
          today: dt.date | None = None) -> Stock:
    """Stock on hand, the rate it is going at, and how many blanks are kept for urgent classes today."""
    today = today or clock.today_wib()
    balance = reconcile(session)
    consumed = session.scalar(
        select(func.count()).select_from(BlankMovementRow).where(
            BlankMovementRow.day > today - dt.timedelta(days=window_days),
            BlankMovementRow.from_state == BlankState.AVAILABLE.value,
            BlankMovementRow.to_state.in_([BlankState.USED.value, BlankState.SPOILED.value]))) or 0
    used_today = session.scalar(
        select(func.count()).select_from(BlankMovementRow).where(
            BlankMovementRow.day == today, BlankMovementRow.from_state == BlankState.AVAILABLE.value,
            BlankMovementRow.to_state.in_([BlankState.USED.value, BlankState.SPOILED.value, BlankState.RETURNED.value]))) or 0
    return Stock(
        available=balance.available, reserved=balance.reserved, consumed_last_days=consumed,
        window_days=window_days,
        days_to_stockout=days_to_stockout(available=balance.available, consumed=consumed, days=window_days),
        urgent_reserve=urgent_reserve(share=reserve_share, day_start_stock=balance.available + used_today),
    )


def blanks_page(session: Session, *, state: str | None = None, limit: int = 200) -> list[BlankRow]:
    query = select(BlankRow).order_by(BlankRow.serial).limit(limit)
    if state:
        query = query.where(BlankRow.state == state)
    return list(session.scalars(query))


def batches(session: Session) -> list[BlankBatchRow]:
    return list(session.scalars(select(BlankBatchRow).order_by(BlankBatchRow.received_at.desc())))
