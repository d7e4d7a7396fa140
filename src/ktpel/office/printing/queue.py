"""The print queue (antrean cetak): a print-ready resident whose card is AUTHORISED enters it when marked
present at the counter (or by appointment); the priority policy orders it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain import clock
from ktpel.domain.enrollment import CardState
from ktpel.domain.errors import NotFound
from ktpel.domain.events import utcnow
from ktpel.domain.print_job import PrintJobState
from ktpel.domain.priority import Candidate, Policy, Ranked, rank
from ktpel.office.printing import ledger
from ktpel.office.printing.errors import CardRevoked, NotAuthorised, UnknownClass
from ktpel.office.printing.policy import present_only
from ktpel.security.audit import record_audit
from ktpel.store.schema.core import CardRow, ResidentRow
from ktpel.store.schema.printing import PrintJobRow, PrintQueueRow


def _card_of(session: Session, *, card_id: str, regency_code: str) -> tuple[CardRow, ResidentRow]:
    found = session.execute(
        select(CardRow, ResidentRow).join(ResidentRow, ResidentRow.id == CardRow.resident_id)
        .where(CardRow.id == card_id)
    ).first()
    if found is None or found[1].regency_code != regency_code:
        raise NotFound("Kartu tidak ditemukan di kantor ini.", f"No card {card_id} at this office.")
    return found[0], found[1]


def card_for_nik(session: Session, *, nik: str, regency_code: str) -> CardRow:
    """The newest card of a resident of this regency."""
    card = session.scalars(
        select(CardRow).join(ResidentRow, ResidentRow.id == CardRow.resident_id)
        .where(ResidentRow.nik == nik, ResidentRow.regency_code == regency_code)
        .order_by(CardRow.created_at.desc())
    ).first()
    if card is None:
        raise NotFound(f"Penduduk dengan NIK {nik} belum punya kartu siap cetak.",
                       f"The resident with NIK {nik} has no print-ready card.")
    return card


def _check_printable(card: CardRow, resident: ResidentRow) -> None:
    if card.state == CardState.REVOKED.value or resident.revoked:
        raise CardRevoked("Kartu diblokir (data ganda): tidak boleh dicetak.",
                          "The card is revoked (duplicate record): it may not be printed.")
    if card.state != CardState.AUTHORISED.value or not card.authorisation:
        state = CardState(card.state)
        raise NotAuthorised(f"Kartu berstatus '{state.label_id}': belum/tidak bisa dicetak.",
                            f"The card is {state.value}: it cannot be printed now.")


def mark_present(session: Session, *, card_id: str, regency_code: str, actor: str, classes: list[str],
                 proof_notes: dict[str, str] | None = None, via: str = "counter",
                 appointment_on: dt.date | None = None, policy: Policy, source_ip: str | None = None
                 ) -> PrintQueueRow:
    """The resident is at the counter (or has an appointment): the card enters the print queue."""
    card, resident = _card_of(session, card_id=card_id, regency_code=regency_code)
    _check_printable(card, resident)
    unknown = [c for c in classes if c not in policy.classes]
    if unknown:
        raise UnknownClass(f"Kelas prioritas tidak dikenal: {', '.join(unknown)}.",
                           f"Unknown priority class: {', '.join(unknown)}.")
    automatic = {c.code for c in policy.classes.values() if c.automatic}
    claimed = sorted(set(classes) - automatic)
    row = session.get(PrintQueueRow, card_id)
    if row is None:
        row = PrintQueueRow(card_id=card_id, resident_id=resident.id, marked_by=actor, arrived_at=utcnow())
        session.add(row)
    row.present = via == "counter"
    row.via, row.appointment_on, row.classes = via, appointment_on, claimed
    row.proof_notes, row.left_at, row.marked_by = dict(proof_notes or {}), None, actor
    record_audit(session, actor=actor, action="printing.mark_present", subject=f"card:{card_id}",
                 after={"via": via, "classes": claimed}, source_ip=source_ip)
    session.flush()
    return row


def leave_queue(session: Session, *, card_id: str, actor: str) -> None:
    """The resident left the counter without a card: out of the queue until marked present again."""
    row = session.get(PrintQueueRow, card_id)
    if row is not None and row.left_at is None:
        row.left_at, row.present = utcnow(), False
        record_audit(session, actor=actor, action="printing.leave_queue", subject=f"card:{card_id}")


@dataclass(frozen=True)
class QueueEntry:
    ranked: Ranked
    nik: str
    name: str
    birth_date: dt.date
    classes: tuple[str, ...]
    via: str


@dataclass(frozen=True)
class QueueView:
    entries: list[QueueEntry]
    waiting_not_present: int
    stock: ledger.Stock
    policy: Policy
    present_only: bool


def print_queue(session: Session, *, regency_code: str, policy: Policy, today: dt.date | None = None,
                limit: int = 200) -> QueueView:
    """The print queue in policy order, with the reason any entry cannot be printed right now."""
    today = today or clock.today_wib()
    only_present = present_only(session)
    rows = session.execute(
        # names are encrypted at rest: decrypt only the rows shown, not every print-ready resident
        select(CardRow.id, CardRow.created_at, ResidentRow.nik, ResidentRow.id, ResidentRow.birth_date,
               PrintQueueRow.classes, PrintQueueRow.arrived_at, PrintQueueRow.present, PrintQueueRow.via,
               PrintQueueRow.left_at, PrintQueueRow.appointment_on)
        .join(ResidentRow, ResidentRow.id == CardRow.resident_id)
        .outerjoin(PrintQueueRow, PrintQueueRow.card_id == CardRow.id)
        .where(CardRow.state == CardState.AUTHORISED.value, ResidentRow.regency_code == regency_code,
               ResidentRow.revoked.is_(False),
               # a card on the printer is not waiting any more: it leaves the queue until the job ends
               CardRow.id.not_in(select(PrintJobRow.card_id).where(PrintJobRow.state == PrintJobState.SENT.value)))
    ).all()
    candidates, info, not_present = [], {}, 0
    for (card_id, created, nik, resident_id, birth, classes, arrived, present, via, left, appt) in rows:
        in_queue = arrived is not None and left is None
        here = in_queue and (present or (via == "appointment" and appt is not None and appt <= today))
        if not here:
            not_present += 1
            if only_present:
                continue
        codes = tuple(classes or ()) + tuple(policy.automatic_classes(birth_date=birth, today=today))
        candidates.append(Candidate(card_id=card_id, classes=codes, print_ready_on=clock.wib_date(created),
                                    arrived_at=arrived or created, present=here))
        info[card_id] = (nik, resident_id, birth, codes, via or "-")
    stock = ledger.stock(session, reserve_share=policy.urgent_reserve_share, today=today)
    ranked = rank(candidates, policy=policy, today=today, available=stock.available - stock.reserved,
                  reserve=stock.urgent_reserve, present_only=only_present)
    shown = ranked[:limit]
    names = dict(session.execute(select(ResidentRow.id, ResidentRow.name).where(
        ResidentRow.id.in_([info[r.candidate.card_id][1] for r in shown]))).all()) if shown else {}
    entries = []
    for r in shown:
        nik, resident_id, birth, codes, via = info[r.candidate.card_id]
        entries.append(QueueEntry(r, nik, names.get(resident_id, ""), birth, codes, via))
    return QueueView(entries=entries, waiting_not_present=not_present, stock=stock, policy=policy,
                     present_only=only_present)
