"""Print jobs: a job reserves a blank, renders the card and sends it to the printer; the operator then
confirms it printed (card PRINTED, blank USED, reported to central by the outbox) or spoiled (blank
SPOILED, card stays AUTHORISED)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain import clock
from ktpel.config import Settings
from ktpel.domain.blanks import SpoilReason
from ktpel.domain.enrollment import CardState
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.domain.print_job import PrintJobState
from ktpel.office.notify.outbox import enqueue
from ktpel.office.enrollment.service import enrolled_images
from ktpel.office.printing import ledger
from ktpel.office.printing.errors import JobNotOpen, NotPresent, ReservedForUrgent
from ktpel.office.printing.policy import current_policy, present_only
from ktpel.office.printing.queue import _card_of, _check_printable
from ktpel.office.printing.repository import Cards
from ktpel.office.suket.service import end_for_printed_card
from ktpel.office.printing.card import layout, render_pdf, render_png
from ktpel.office.printing.drivers import PrintingConfig, get_driver
from ktpel.security.audit import record_audit
from ktpel.store.schema.core import CardRow, ResidentRow
from ktpel.store.schema.printing import PrintJobRow, PrintQueueRow
from ktpel.store.schema.sync import OutboxRow
from ktpel.office.sync.outage import current_state
from ktpel.office.sync.outbox import enqueue_packet


def _verify_authorisation(card: CardRow, resident: ResidentRow, *, settings: Settings) -> dict:
    from ktpel.sync.authorisation import InvalidAuthorisation, verify
    from ktpel.keys.keyring import central_public_keys

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
    job = PrintJobRow(id=job_id, card_id=card_id, blank_serial=blank, state=PrintJobState.SENT.value, driver=sent.driver,
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
    if job.state != PrintJobState.SENT.value:
        raise JobNotOpen(f"Pekerjaan cetak ini sudah selesai ({job.state}).",
                         f"This print job is already closed ({job.state}).")
    return job


def _report_printed(session: Session, *, card: CardRow, job: PrintJobRow, office_code: str) -> str | None:
    return enqueue_packet(session, kind="card.printed", subject_id=card.id, payload={
        "card_id": card.id, "enrollment_id": card.enrollment_id, "blank_serial": job.blank_serial,
        "printed_at": card.printed_at.isoformat() if card.printed_at else utcnow().isoformat(),
        "office_code": office_code, "offline": job.offline, "job_id": job.id,
    })


def _notify_printed(session: Session, *, resident_id: int) -> None:
    enqueue(session, resident_id=resident_id, trigger="card_printed", variables={})


def confirm_printed(session: Session, *, job_id: str, regency_code: str, actor: str,
                    source_ip: str | None = None) -> CardRow:
    """The operator saw a good card: card PRINTED on this blank, blank USED, central told via the outbox."""
    job = _open_job(session, job_id)
    card, resident = _card_of(session, card_id=job.card_id, regency_code=regency_code)
    _check_printable(card, resident)
    cards = Cards(session)
    machine = cards.machine_of(card)
    machine.print(blank_serial=job.blank_serial)
    ledger.use_blank(session, serial=job.blank_serial, card_id=card.id, actor=actor)
    card.printed_at = utcnow()
    job.state, job.finished_at = PrintJobState.PRINTED.value, utcnow()
    queued = session.get(PrintQueueRow, card.id)
    if queued is not None:
        queued.left_at = utcnow()
    cards.save(machine)
    session.flush()
    job.report_packet_id = _report_printed(session, card=card, job=job, office_code=regency_code)
    # the printed card replaces the resident's temporary certificate (Suket), in the same transaction
    end_for_printed_card(session, resident_id=resident.id, card_id=card.id, actor=actor, office_code=regency_code)
    _notify_printed(session, resident_id=resident.id)
    record_audit(session, actor=actor, action="printing.printed", subject=f"card:{card.id}",
                 before={"state": CardState.AUTHORISED.value}, after={"state": card.state, "blank": job.blank_serial},
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
    job.state, job.reason, job.finished_at = PrintJobState.SPOILED.value, reason_.value, utcnow()
    record_audit(session, actor=actor, action="printing.spoiled", subject=f"blank:{job.blank_serial}",
                 after={"job": job.id, "card": job.card_id, "reason": reason_.value}, source_ip=source_ip)
    return job


def cancel_job(session: Session, *, job_id: str, regency_code: str, actor: str) -> PrintJobRow:
    """The job never reached a blank (printer offline, wrong tray): the blank goes back untouched."""
    job = _open_job(session, job_id)
    _card_of(session, card_id=job.card_id, regency_code=regency_code)
    ledger.release_blank(session, serial=job.blank_serial)
    job.state, job.finished_at = PrintJobState.CANCELLED.value, utcnow()
    record_audit(session, actor=actor, action="printing.cancelled", subject=f"job:{job.id}",
                 after={"blank": job.blank_serial})
    return job


def spoil_printed_card(session: Session, *, card_id: str, regency_code: str, reason: str, actor: str) -> CardRow:
    """A printed card found faulty before hand-over: its blank is spoiled and the card may print again."""
    card, _ = _card_of(session, card_id=card_id, regency_code=regency_code)
    cards = Cards(session)
    machine = cards.machine_of(card)
    serial = card.blank_serial
    machine.spoil(reason=reason)
    ledger.spoil_blank(session, serial=serial or "", reason=SpoilReason(reason), actor=actor)
    card.printed_at = None
    cards.save(machine)
    record_audit(session, actor=actor, action="printing.card_spoiled", subject=f"card:{card.id}",
                 before={"state": CardState.PRINTED.value, "blank": serial}, after={"state": card.state, "reason": reason})
    return card


def open_jobs(session: Session) -> list[PrintJobRow]:
    return list(session.scalars(select(PrintJobRow).where(PrintJobRow.state == PrintJobState.SENT.value)
                                .order_by(PrintJobRow.created_at)))


def recent_jobs(session: Session, *, limit: int = 30) -> list[PrintJobRow]:
    return list(session.scalars(select(PrintJobRow).order_by(PrintJobRow.created_at.desc()).limit(limit)))


def report_states(session: Session, *, jobs: list[PrintJobRow]) -> dict[str, str]:
    """Where each printed job's `card.printed` report stands in the outbox: QUEUED, or SENT (central signed)."""
    ids = [j.report_packet_id for j in jobs if j.report_packet_id]
    if not ids:
        return {}
    return dict(session.execute(select(OutboxRow.packet_id, OutboxRow.state)
                                .where(OutboxRow.packet_id.in_(ids))).all())


def holders(session: Session, *, card_ids: list[str]) -> dict[str, tuple[str, str]]:
    """card id -> (NIK, name) of its resident: the officer checks the card in hand against a person."""
    if not card_ids:
        return {}
    rows = session.execute(select(CardRow.id, ResidentRow.nik, ResidentRow.name)
                           .join(ResidentRow, ResidentRow.id == CardRow.resident_id)
                           .where(CardRow.id.in_(card_ids))).all()
    return {cid: (nik, name) for cid, nik, name in rows}
