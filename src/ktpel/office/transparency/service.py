"""What each office publishes every day, without login: blanks on hand, people waiting, and the wait.

Announcing the stock in public is what offices do against extortion ("blanko habis" told to a resident
while blanks sit in a drawer); the numbers come straight from the blank ledger and the print queue.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain import clock
from ktpel.domain.blanks import BlankState
from ktpel.domain.enrollment import CardState
from ktpel.domain.ikd import IkdState
from ktpel.domain.suket import SuketState
from ktpel.store.schema.core import CardRow, ResidentRow
from ktpel.store.schema.printing import BlankMovementRow, PrintQueueRow

WINDOW_DAYS = 14
# cards one counter printer turns out in a working day: the pace when demand, not stock, was low lately
PRINTER_PER_DAY = 100


@dataclass(frozen=True)
class Board:
    office_code: str
    office_name: str
    office_address: str
    office_hours: str
    day: str
    blanks_available: int
    blanks_in_printer: int
    queue_present: int
    print_ready_waiting: int
    printed_today: int
    printed_per_day: float
    wait_days: int | None  # whole working days for the last person in the queue; None: waits for blanks
    short_by: int  # people in the queue beyond today's stock
    wait_id: str
    wait_en: str
    suket_active: int
    ikd_active: int

    def as_dict(self) -> dict:
        return asdict(self)


def _count(session: Session, query) -> int:  # noqa: ANN001
    return int(session.scalar(query) or 0)


def board(session: Session, *, settings: Settings, today: dt.date | None = None) -> Board:
    """Today's public numbers for this office."""
    from ktpel.office.printing import ledger

    today = today or clock.today_wib()
    stock = ledger.reconcile(session)
    regency = settings.office_regency
    queue = _count(session, select(func.count()).select_from(PrintQueueRow)
                   .join(CardRow, CardRow.id == PrintQueueRow.card_id)
                   .where(PrintQueueRow.left_at.is_(None), PrintQueueRow.present.is_(True),
                          CardRow.state == CardState.AUTHORISED.value))
    waiting = _count(session, select(func.count()).select_from(CardRow)
                     .join(ResidentRow, ResidentRow.id == CardRow.resident_id)
                     .where(CardRow.state == CardState.AUTHORISED.value, ResidentRow.regency_code == regency))
    used = select(func.count()).select_from(BlankMovementRow).where(
        BlankMovementRow.from_state == BlankState.AVAILABLE.value,
        BlankMovementRow.to_state == BlankState.USED.value)
    printed_today = _count(session, used.where(BlankMovementRow.day == today))
    recent = _count(session, used.where(BlankMovementRow.day > today - dt.timedelta(days=WINDOW_DAYS)))
    per_day = round(recent / (WINDOW_DAYS * 5 / 7), 1)  # working days in the window
    free = max(0, stock.available - stock.reserved)
    wait_days, short_by, wait_id, wait_en = _estimate(queue=queue, free=free, per_day=per_day)
    return Board(
        office_code=regency, office_name=settings.office_name, office_address=settings.office_address,
        office_hours=settings.office_hours, day=today.isoformat(), blanks_available=free,
        blanks_in_printer=stock.reserved, queue_present=queue, print_ready_waiting=waiting,
        printed_today=printed_today, printed_per_day=per_day, wait_days=wait_days, short_by=short_by,
        wait_id=wait_id, wait_en=wait_en, suket_active=_active_suket(session, today=today),
        ikd_active=_active_ikd(session, office_code=regency),
    )


def _estimate(*, queue: int, free: int, per_day: float) -> tuple[int | None, int, str, str]:
    if queue == 0:
        return 0, 0, "Tidak ada antrean cetak saat ini.", "Nobody is waiting to print right now."
    short_by = max(0, queue - free)
    if short_by:
        return (None, short_by,
                f"Blanko hari ini cukup untuk {free} dari {queue} orang; {short_by} orang menunggu kiriman blanko "
                "(dapat meminta Suket atau mengaktifkan IKD).",
                f"Today's blanks cover {free} of {queue} people; {short_by} wait for the next delivery "
                "(they may ask for a Suket or activate the IKD).")
    days = max(1, math.ceil(queue / max(per_day, PRINTER_PER_DAY)))
    if days == 1:
        return 1, 0, "Perkiraan: dicetak hari ini.", "Estimate: printed today."
    return days, 0, f"Perkiraan: sekitar {days} hari kerja.", f"Estimate: about {days} working days."


def _active_suket(session: Session, *, today: dt.date) -> int:
    try:
        from ktpel.store.schema.suket import SuketRow
    except ImportError:
        return 0
    return _count(session, select(func.count()).select_from(SuketRow)
                  .where(SuketRow.state == SuketState.ACTIVE.value, SuketRow.valid_until >= today))


def _active_ikd(session: Session, *, office_code: str) -> int:
    try:
        from ktpel.store.schema.ikd import IkdActivationRow
    except ImportError:
        return 0
    return _count(session, select(func.count()).select_from(IkdActivationRow)
                  .where(IkdActivationRow.office_code == office_code, IkdActivationRow.state == IkdState.ACTIVE.value))
