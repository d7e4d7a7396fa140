"""Printing at the office: who is waiting, in what order, and printing one card on one blank.

Print queue (antrean cetak): a print-ready resident whose card is AUTHORISED enters the queue when marked
present at the counter (or by appointment); the priority policy orders it. A print job reserves a blank,
renders the card, sends it to the printer; the operator then confirms it printed (card PRINTED, blank
USED, reported to central by the outbox) or spoiled (blank SPOILED, card stays AUTHORISED).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain import clock
from ktpel.config import Settings
from ktpel.domain.blanks import BlankState, SpoilReason
from ktpel.domain.enrollment import Card, CardState
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import DomainEvent, utcnow
from ktpel.domain.priority import Candidate, Policy, Ranked, parse_policy, rank
from ktpel.office.printing import ledger
from ktpel.printing.card import layout, render_pdf, render_png
from ktpel.printing.drivers import PrintingConfig, get_driver
from ktpel.security.audit import record_audit
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.printing import PrintingSettingRow, PrintJobRow, PrintQueueRow

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "printing" / "policies" / "default.yaml"


# --- errors ----------------------------------------------------------------------------------------

class PrintRefused(KtpelError):
    code = "print_refused"
    http_status = 409


class NotAuthorised(PrintRefused):
    code = "card_not_authorised"


class CardRevoked(PrintRefused):
    code = "card_revoked"


class NotPresent(PrintRefused):
    code = "resident_not_present"


class ReservedForUrgent(PrintRefused):
    code = "reserved_for_urgent"


class JobNotOpen(PrintRefused):
    code = "job_not_open"


class UnknownClass(KtpelError):
    code = "priority_class_unknown"


# --- policy and settings -----------------------------------------------------------------------------

def policy_path(config: PrintingConfig | None = None) -> Path:
    config = config or PrintingConfig()
    return config.policy_file or DEFAULT_POLICY


@lru_cache(maxsize=8)
def _load_policy(path: str, mtime: float) -> Policy:
    return parse_policy(Path(path).read_text(encoding="utf-8"), source=Path(path).name)


def current_policy(config: PrintingConfig | None = None) -> Policy:
    """The priority policy in force (re-read when the file changes)."""
    path = policy_path(config)
    try:
        return _load_policy(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        raise NotFound(f"Berkas kebijakan {path} tidak ditemukan.", f"Policy file {path} not found.") from None


PRESENT_ONLY = "present_only"


def present_only(session: Session) -> bool:
    """Print only residents present at the counter (the default) unless the head of office changed it."""
    row = session.get(PrintingSettingRow, PRESENT_ONLY)
    return True if row is None else bool(row.value.get("enabled", True))


def set_present_only(session: Session, *, enabled: bool, actor: str, source_ip: str | None = None) -> None:
    """Change the present-only rule (head of office), audited."""
    before = present_only(session)
    row = session.get(PrintingSettingRow, PRESENT_ONLY)
    if row is None:
        session.add(PrintingSettingRow(key=PRESENT_ONLY, value={"enabled": enabled}, changed_by=actor))
    else:
        row.value, row.changed_by, row.changed_at = {"enabled": enabled}, actor, utcnow()
    record_audit(session, actor=actor, action="printing.present_only", subject=PRESENT_ONLY,
                 before={"enabled": before}, after={"enabled": enabled}, source_ip=source_ip)


# --- queue ---------------------------------------------------------------------------------------------

def _store_events(session: Session, events: list[DomainEvent]) -> None:
    for e in events:
        session.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data=e.data, at=e.at))
    events.clear()


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
               CardRow.id.not_in(select(PrintJobRow.card_id).where(PrintJobRow.state == "SENT")))
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
        candidates.append(Candidate(card_id=card_id, classes=codes, print_ready_on=created.date(),
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


# --- print jobs ----------------------------------------------------------------------------------------

def _verify_authorisation(card: CardRow, resident: ResidentRow, *, settings: Settings) -> dict:
    from ktpel.sync.authorisation import InvalidAuthorisation, verify
    from ktpel.sync.keys import central_public_keys

    signed = verify(card.authorisation or "", public_keys=central_public_keys(settings))
    if str(signed["card_id"]) != card.id or signed["nik"] != resident.nik:
        raise InvalidAuthorisation("for another card")
    return signed


def _places(village_code: str) -> dict[str, str]:
    from ktpel.reference import regions

    chain = {r.level: r.name for r in regions().parents(village_code)}
    return {"province": chain.get(1, ""), "regency": chain.get(2, ""), "district": chain.get(3, ""),
            "village": chain.get(4, "")}


def _images(session: Session, enrollment_id: str) -> dict[str, bytes]:
    if importlib.util.find_spec("ktpel.office.enrollment.service") is None:
        return {}
    from ktpel.office.enrollment.service import enrolled_images

    try:
        return enrolled_images(session, enrollment_id=enrollment_id)
    except NotFound:
        return {}


def _face(session: Session, card: CardRow, signed: dict, *, specimen: bool, today: dt.date):  # noqa: ANN202
    images = _images(session, card.enrollment_id)
    return layout(card=signed, places=_places(signed["village_code"]), photo=images.get("face"),
                  signature=images.get("signature"), token=signed.get("qr") or card.authorisation or "",
                  issued_on=today,
                  specimen=specimen)


def preview_card(session: Session, *, card_id: str, regency_code: str, settings: Settings) -> bytes:
    """A PNG preview of the card as it would print (always marked SPECIMEN)."""
    card, resident = _card_of(session, card_id=card_id, regency_code=regency_code)
    if not card.authorisation:
        _check_printable(card, resident)
    signed = _verify_authorisation(card, resident, settings=settings)
    return render_png(_face(session, card, signed, specimen=True, today=clock.today_wib()), dpi=200)


def _central_unreachable(session: Session) -> bool:
    if importlib.util.find_spec("ktpel.sync.outage") is None:
        return False
    from ktpel.sync.outage import current_state

    return not current_state(session).reachable


def start_print(session: Session, *, card_id: str, regency_code: str, settings: Settings, actor: str,
                serial: str | None = None, config: PrintingConfig | None = None,
                source_ip: str | None = None) -> PrintJobRow:
    """Reserve a blank, render the card and send it to the printer; the operator confirms after."""
    config = config or PrintingConfig()
    policy = current_policy(config)
    card, resident = _card_of(session, card_id=card_id, regency_code=regency_code)
    _check_printable(card, resident)
    queued = session.get(PrintQueueRow, card_id)
    today = clock.today_wib()
    here = queued is not None and queued.left_at is None and (
        queued.present or (queued.via == "appointment" and queued.appointment_on is not None
                           and queued.appointment_on <= today))
    if present_only(session) and not here:
        raise NotPresent("Penduduk belum ditandai hadir di loket: kartu hanya dicetak bila ia hadir.",
                         "The resident is not marked present: cards are printed only for residents present.")
    signed = _verify_authorisation(card, resident, settings=settings)
    classes = tuple((queued.classes if queued else []) or []) + tuple(
        policy.automatic_classes(birth_date=resident.birth_date, today=today))
    stock = ledger.stock(session, reserve_share=policy.urgent_reserve_share, today=today)
    free = stock.available - stock.reserved
    if free > 0 and not policy.is_urgent(classes) and free <= stock.urgent_reserve:
        raise ReservedForUrgent(
            f"Sisa {free} blanko dicadangkan untuk kelas mendesak hari ini.",
            f"The remaining {free} blanks are reserved for urgent classes today.")
    blank = ledger.reserve_blank(session, card_id=card_id, serial=serial)
    job_id = "J" + uuid.uuid4().hex[:15]
    pdf = render_pdf(_face(session, card, signed, specimen=config.specimen, today=today),
                     title=f"KTP-El {resident.nik}")
    sent = get_driver(config, data_dir=settings.data_dir).send(pdf, job_id=job_id, title=f"KTP-El {job_id}")
    job = PrintJobRow(id=job_id, card_id=card_id, blank_serial=blank, state="SENT", driver=sent.driver,
                      destination=sent.destination, operator=actor, offline=_central_unreachable(session),
                      created_at=utcnow())
    session.add(job)
    record_audit(session, actor=actor, action="printing.start", subject=f"card:{card_id}",
                 after={"job": job_id, "blank": blank, "driver": sent.driver, "offline": job.offline},
                 source_ip=source_ip)
    session.flush()
    return job


def _open_job(session: Session, job_id: str) -> PrintJobRow:
    job = session.scalar(select(PrintJobRow).where(PrintJobRow.id == job_id).with_for_update())
    if job is None:
        raise NotFound("Pekerjaan cetak tidak ditemukan.", f"No print job {job_id}.")
    if job.state != "SENT":
        raise JobNotOpen(f"Pekerjaan cetak ini sudah selesai ({job.state}).",
                         f"This print job is already closed ({job.state}).")
    return job


def _report_printed(session: Session, *, card: CardRow, job: PrintJobRow, office_code: str) -> str | None:
    if importlib.util.find_spec("ktpel.sync.outbox") is None:
        return None
    from ktpel.sync.outbox import enqueue_packet

    return enqueue_packet(session, kind="card.printed", subject_id=card.id, payload={
        "card_id": card.id, "enrollment_id": card.enrollment_id, "blank_serial": job.blank_serial,
        "printed_at": card.printed_at.isoformat() if card.printed_at else utcnow().isoformat(),
        "office_code": office_code, "offline": job.offline, "job_id": job.id,
    })


def _notify_printed(session: Session, *, resident_id: int) -> None:
    if importlib.util.find_spec("ktpel.notify.outbox") is None:
        return
    from ktpel.notify.outbox import enqueue

    enqueue(session, resident_id=resident_id, trigger="card_printed", variables={})


def confirm_printed(session: Session, *, job_id: str, regency_code: str, actor: str,
                    source_ip: str | None = None) -> CardRow:
    """The operator saw a good card: card PRINTED on this blank, blank USED, central told via the outbox."""
    job = _open_job(session, job_id)
    card, resident = _card_of(session, card_id=job.card_id, regency_code=regency_code)
    _check_printable(card, resident)
    machine = Card(id=card.id, state=CardState(card.state))
    machine.print(blank_serial=job.blank_serial)
    ledger.use_blank(session, serial=job.blank_serial, card_id=card.id, actor=actor)
    card.state, card.blank_serial, card.printed_at = machine.state.value, job.blank_serial, utcnow()
    job.state, job.finished_at = "PRINTED", utcnow()
    queued = session.get(PrintQueueRow, card.id)
    if queued is not None:
        queued.left_at = utcnow()
    _store_events(session, machine.events)
    session.flush()
    job.report_packet_id = _report_printed(session, card=card, job=job, office_code=regency_code)
    _notify_printed(session, resident_id=resident.id)
    record_audit(session, actor=actor, action="printing.printed", subject=f"card:{card.id}",
                 before={"state": "AUTHORISED"}, after={"state": card.state, "blank": job.blank_serial},
                 source_ip=source_ip)
    return card


def confirm_spoiled(session: Session, *, job_id: str, regency_code: str, reason: str, actor: str,
                    source_ip: str | None = None) -> PrintJobRow:
    """The print went wrong: the blank goes to the spoiled ledger, the card stays AUTHORISED."""
    job = _open_job(session, job_id)
    _card_of(session, card_id=job.card_id, regency_code=regency_code)
    try:
        reason_ = SpoilReason(reason)
    except ValueError:
        raise KtpelError("Alasan rusak harus salah cetak, macet, rusak fisik, atau cetak uji.",
                         "The reason must be misprint, jam, damaged or test.", code="spoil_reason") from None
    ledger.spoil_blank(session, serial=job.blank_serial, reason=reason_, actor=actor)
    job.state, job.reason, job.finished_at = "SPOILED", reason_.value, utcnow()
    record_audit(session, actor=actor, action="printing.spoiled", subject=f"blank:{job.blank_serial}",
                 after={"job": job.id, "card": job.card_id, "reason": reason_.value}, source_ip=source_ip)
    return job


def cancel_job(session: Session, *, job_id: str, regency_code: str, actor: str) -> PrintJobRow:
    """The job never reached a blank (printer offline, wrong tray): the blank goes back untouched."""
    job = _open_job(session, job_id)
    _card_of(session, card_id=job.card_id, regency_code=regency_code)
    ledger.release_blank(session, serial=job.blank_serial)
    job.state, job.finished_at = "CANCELLED", utcnow()
    record_audit(session, actor=actor, action="printing.cancelled", subject=f"job:{job.id}",
                 after={"blank": job.blank_serial})
    return job


def spoil_printed_card(session: Session, *, card_id: str, regency_code: str, reason: str, actor: str) -> CardRow:
    """A printed card found faulty before hand-over: its blank is spoiled and the card may print again."""
    card, _ = _card_of(session, card_id=card_id, regency_code=regency_code)
    machine = Card(id=card.id, state=CardState(card.state))
    machine.blank_serial = card.blank_serial
    serial = card.blank_serial
    machine.spoil(reason=reason)
    ledger.spoil_blank(session, serial=serial or "", reason=SpoilReason(reason), actor=actor)
    card.state, card.blank_serial, card.printed_at = machine.state.value, None, None
    _store_events(session, machine.events)
    record_audit(session, actor=actor, action="printing.card_spoiled", subject=f"card:{card.id}",
                 before={"state": "PRINTED", "blank": serial}, after={"state": card.state, "reason": reason})
    return card


def open_jobs(session: Session) -> list[PrintJobRow]:
    return list(session.scalars(select(PrintJobRow).where(PrintJobRow.state == "SENT")
                                .order_by(PrintJobRow.created_at)))


def holders(session: Session, *, card_ids: list[str]) -> dict[str, tuple[str, str]]:
    """card id -> (NIK, name) of its resident: the officer checks the card in hand against a person."""
    if not card_ids:
        return {}
    rows = session.execute(select(CardRow.id, ResidentRow.nik, ResidentRow.name)
                           .join(ResidentRow, ResidentRow.id == CardRow.resident_id)
                           .where(CardRow.id.in_(card_ids))).all()
    return {cid: (nik, name) for cid, nik, name in rows}


def recent_jobs(session: Session, *, limit: int = 30) -> list[PrintJobRow]:
    return list(session.scalars(select(PrintJobRow).order_by(PrintJobRow.created_at.desc()).limit(limit)))


def receive_blanks(session: Session, *, first_serial: str, last_serial: str, actor: str,
                   source_ip: str | None = None):  # noqa: ANN201
    """Book in a batch entered by hand (a delivery from central arrives as an event instead)."""
    batch = ledger.receive_batch(session, first_serial=first_serial, last_serial=last_serial, actor=actor)
    record_audit(session, actor=actor, action="blanks.received", subject=f"batch:{batch.id}",
                 after={"first": batch.first_serial, "last": batch.last_serial, "count": batch.count},
                 source_ip=source_ip)
    return batch


def return_blank(session: Session, *, serial: str, actor: str, source_ip: str | None = None) -> None:
    """Send an unused blank back to central (re-allocation to another regency), audited."""
    ledger.return_blank(session, serial=serial, actor=actor)
    record_audit(session, actor=actor, action="blanks.returned", subject=f"blank:{serial}", source_ip=source_ip)


def apply_blanks_allocated(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    """Office side of `blanks.allocated`: central's batch for this office is booked into the ledger once."""
    if not data.get("first_serial") or not int(data.get("count") or 0):
        return
    ledger.receive_batch(session, first_serial=data["first_serial"], last_serial=data["last_serial"],
                         actor="pusat", source="central", allocation_ref=f"{data.get('plan_id')}:{subject_id}")
    record_audit(session, actor="pusat", action="blanks.received", subject=f"allocation:{subject_id}",
                 after={"first": data["first_serial"], "last": data["last_serial"], "count": data["count"]})


def report_states(session: Session, *, jobs: list[PrintJobRow]) -> dict[str, str]:
    """Where each printed job's `card.printed` report stands in the outbox: QUEUED, or SENT (central signed)."""
    ids = [j.report_packet_id for j in jobs if j.report_packet_id]
    if not ids or importlib.util.find_spec("ktpel.store.schema.sync") is None:
        return {}
    from ktpel.store.schema.sync import OutboxRow

    return dict(session.execute(select(OutboxRow.packet_id, OutboxRow.state)
                                .where(OutboxRow.packet_id.in_(ids))).all())


__all__ = [
    "BlankState", "CardRevoked", "JobNotOpen", "NotAuthorised", "NotPresent", "PrintRefused", "ReservedForUrgent",
    "apply_blanks_allocated", "cancel_job", "card_for_nik", "confirm_printed", "confirm_spoiled",
    "current_policy", "leave_queue", "mark_present", "open_jobs", "present_only", "preview_card",
    "print_queue", "receive_blanks", "recent_jobs", "set_present_only", "spoil_printed_card", "start_print",
]
