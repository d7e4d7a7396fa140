"""IKD activation at the counter: contact + consent, selfie 1:1, officer QR scanned by the device, one-time
code through the notification channels, and a digital credential signed by the office (verifiable offline).

Selfie and code steps take the database rather than a session: a refused selfie or a wrong code is itself
recorded (attempts, score, audit) and then refused, while nothing else changes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain import clock
from ktpel.domain.enrollment import CardState, EnrollmentState
from ktpel.domain.errors import NotFound
from ktpel.domain.events import DomainEvent, utcnow
from ktpel.domain.ikd import (
    CODE_DIGITS, IkdActivation, IkdRefused, IkdState, check_contact, code_expired, code_hash,
)
from ktpel.office import credentials
from ktpel.security.audit import record_audit
from ktpel.store.db import Database
from ktpel.store.repository import store_events
from ktpel.store.schema.core import CardRow, EnrollmentRow, PhoneRow, ResidentRow
from ktpel.store.schema.ikd import IkdActivationRow

PENDING = (IkdState.PENDING_SELFIE.value, IkdState.PENDING_SCAN.value, IkdState.PENDING_CODE.value)


def _store(session: Session, events: list[DomainEvent]) -> None:
    store_events(session, events)  # the revocation's typed reason goes to central's packet, not the clear log
    events.clear()


def _machine(row: IkdActivationRow) -> IkdActivation:
    return IkdActivation(id=row.id, state=IkdState(row.state))


def _resident(session: Session, *, nik: str, regency_code: str) -> ResidentRow:
    row = session.scalar(select(ResidentRow).where(ResidentRow.nik == nik.strip(),
                                                   ResidentRow.regency_code == regency_code))
    if row is None:
        raise NotFound(f"Penduduk dengan NIK {nik} tidak ditemukan di kantor ini.", f"No resident with NIK {nik} here.")
    return row


def _eligible_enrollment(session: Session, *, resident: ResidentRow) -> tuple[EnrollmentRow, bool]:
    """The record an IKD rests on (PRR, or a printed card) and whether a card is printed already."""
    printed = session.scalar(select(CardRow).where(CardRow.resident_id == resident.id,
                                                   CardRow.state.in_((CardState.PRINTED.value, CardState.ISSUED.value))))
    if printed is not None:
        return session.get(EnrollmentRow, printed.enrollment_id), True
    latest = session.scalars(select(EnrollmentRow).where(EnrollmentRow.resident_id == resident.id)
                             .order_by(EnrollmentRow.created_at.desc())).first()
    if latest is None or latest.state != EnrollmentState.PRINT_READY.value or resident.revoked:
        code = latest.state if latest else "BELUM REKAM"
        raise IkdRefused(f"IKD hanya untuk penduduk berstatus PRR atau yang KTP-El-nya sudah dicetak (sekarang: {code}).",
                         f"An IKD needs a print-ready (PRR) or printed record (now: {code}).", code="ikd_not_eligible")
    return latest, False


def _consenting_phone(session: Session, *, resident_id: int, e164: str) -> None:
    """The phone the code goes to joins the resident's phones, with consent (numbers are encrypted: compare here)."""
    for phone in session.scalars(select(PhoneRow).where(PhoneRow.resident_id == resident_id)):
        if phone.number == e164:
            phone.consent, phone.takes_sms = True, True
            return
    session.add(PhoneRow(resident_id=resident_id, number=e164, takes_sms=True, consent=True))


def start_activation(session: Session, *, settings: Settings, nik: str, phone: str, email: str, consent: bool,
                     actor: str, source_ip: str | None = None) -> IkdActivationRow:
    """Step 1 at the counter: the resident's phone and email, with consent."""
    from ktpel.office.notify.errors import InvalidPhone
    from ktpel.office.notify.phones import normalise

    check_contact(phone=phone, email=email, consent=consent)
    try:
        e164 = normalise(phone)
    except InvalidPhone:
        raise IkdRefused(f"Nomor telepon '{phone}' tidak valid.", f"Phone number '{phone}' is not valid.",
                         code="ikd_contact") from None
    resident = _resident(session, nik=nik, regency_code=settings.office_regency)
    enrollment, printed = _eligible_enrollment(session, resident=resident)
    if session.scalar(select(IkdActivationRow).where(IkdActivationRow.resident_id == resident.id,
                                                     IkdActivationRow.state == IkdState.ACTIVE.value)):
        raise IkdRefused("Penduduk ini sudah memiliki IKD aktif.", "This resident already has an active IKD.",
                         code="ikd_already_active")
    for old in session.scalars(select(IkdActivationRow).where(IkdActivationRow.resident_id == resident.id,
                                                              IkdActivationRow.state.in_(PENDING))):
        old.state, old.qr_nonce = IkdState.FAILED.value, None  # a new start replaces an unfinished one
    row = IkdActivationRow(id="IKD" + uuid.uuid4().hex[:13], resident_id=resident.id, enrollment_id=enrollment.id,
                           office_code=settings.office_regency, state=IkdState.PENDING_SELFIE.value, phone=e164,
                           email=email.strip(), consent=True, selfie_attempts=0, code_attempts=0,
                           saves_blank=not printed, officer=actor, created_at=utcnow())
    session.add(row)
    _consenting_phone(session, resident_id=resident.id, e164=e164)
    session.flush()
    record_audit(session, actor=actor, action="ikd.started", subject=f"ikd:{row.id}",
                 after={"nik": resident.nik, "consent": True}, source_ip=source_ip)
    return row


def _open(session: Session, *, activation_id: str, regency_code: str) -> IkdActivationRow:
    row = session.scalar(select(IkdActivationRow).where(IkdActivationRow.id == activation_id).with_for_update())
    if row is None or row.office_code != regency_code:
        raise NotFound("Aktivasi IKD tidak ditemukan.", f"No IKD activation {activation_id}.")
    return row


@dataclass(frozen=True)
class SelfieResult:
    matched: bool
    score: float
    threshold: float
    qr_nonce: str | None


def submit_selfie(db: Database, *, settings: Settings, activation_id: str, image: bytes, actor: str,
                  source_ip: str | None = None) -> SelfieResult:
    """Step 2: a selfie compared 1:1 with the enrolled face; refused with its score when it is someone else."""
    from ktpel.biometrics import BiometricError, get_engine
    from ktpel.office.enrollment.service import enrolled_templates

    with db.unit_of_work() as s:
        row = _open(s, activation_id=activation_id, regency_code=settings.office_regency)
        if row.state != IkdState.PENDING_SELFIE.value:
            _machine(row)._require("selfie_matched", "Swafoto tidak diharapkan pada langkah ini", "No selfie expected now")
        enrolled = enrolled_templates(s, enrollment_id=row.enrollment_id).get("face")
    if enrolled is None:
        raise IkdRefused("Tidak ada wajah terekam untuk dicocokkan.", "No enrolled face to compare with.",
                         code="ikd_no_face")
    engine = get_engine()
    try:
        matched, score = engine.verify(engine.extract_face(image), enrolled)
    except BiometricError as exc:
        raise IkdRefused(f"Swafoto tidak dapat dibaca: {exc.message_id}", f"The selfie cannot be read: {exc.message_en}",
                         code="ikd_selfie_unreadable") from None
    threshold = engine.calibration.verify_z
    with db.unit_of_work() as s:
        row = _open(s, activation_id=activation_id, regency_code=settings.office_regency)
        machine = _machine(row)
        row.selfie_attempts += 1
        row.selfie_score = float(score)
        refusal: IkdRefused | None = None
        try:
            machine.selfie(matched=bool(matched), score=float(score), threshold=threshold,
                           attempts=row.selfie_attempts, max_attempts=settings.ikd_max_selfie_attempts)
        except IkdRefused as exc:
            refusal = exc
        row.state = machine.state.value
        if machine.state is IkdState.PENDING_SCAN:
            row.qr_nonce = secrets.token_urlsafe(18)
        _store(s, machine.events)
        record_audit(s, actor=actor, action="ikd.selfie_matched" if matched else "ikd.selfie_refused",
                     subject=f"ikd:{row.id}", after={"score": round(float(score), 2), "threshold": round(threshold, 2),
                                                    "attempt": row.selfie_attempts}, source_ip=source_ip)
        nonce = row.qr_nonce
    if refusal is not None:
        raise refusal
    return SelfieResult(matched=True, score=float(score), threshold=threshold, qr_nonce=nonce)


def _by_nonce(session: Session, nonce: str) -> IkdActivationRow:
    row = session.scalar(select(IkdActivationRow).where(IkdActivationRow.qr_nonce == (nonce or "").strip())
                         .with_for_update())
    if row is None or not nonce:
        raise NotFound("Kode QR aktivasi tidak dikenal atau sudah tidak berlaku.",
                       "Unknown or withdrawn activation QR.")
    return row


def activation_by_nonce(session: Session, *, nonce: str) -> IkdActivationRow:
    return _by_nonce(session, nonce)


def scan_officer_qr(session: Session, *, settings: Settings, nonce: str,
                    now: dt.datetime | None = None) -> IkdActivationRow:
    """Step 3, from the resident's device: the officer's QR was scanned; a one-time code goes to the phone.

    Scanning again while the code is pending sends a fresh code (the old one stops working).
    """
    now = now or utcnow()
    row = _by_nonce(session, nonce)
    machine = _machine(row)
    if row.state != IkdState.PENDING_CODE.value:
        machine.scan()
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    row.state, row.code_hash = machine.state.value, code_hash(activation_id=row.id, code=code)
    row.code_expires_at, row.code_used_at = now + dt.timedelta(minutes=settings.ikd_code_minutes), None
    _store(session, machine.events)
    _send_code(session, resident_id=row.resident_id, code=code)
    record_audit(session, actor="resident-device", action="ikd.code_sent", subject=f"ikd:{row.id}",
                 after={"expires_at": row.code_expires_at.isoformat()})
    return row


def _send_code(session: Session, *, resident_id: int, code: str) -> None:
    from ktpel.office.notify.outbox import enqueue

    if not enqueue(session, resident_id=resident_id, trigger="ikd_code", variables={"kode": code}):
        raise IkdRefused("Kode tidak dapat dikirim: tidak ada nomor yang menerima SMS.",
                         "The code cannot be sent: no phone that takes SMS.", code="ikd_no_channel")


def enter_code(db: Database, *, settings: Settings, nonce: str, code: str,
               now: dt.datetime | None = None) -> IkdActivationRow:
    """Step 4, on the device: the one-time code activates the IKD; a used, expired or wrong code is refused."""
    now = now or utcnow()
    refusal: IkdRefused | None = None
    with db.unit_of_work() as s:
        row = _by_nonce(s, nonce)
        machine = _machine(row)
        matches = bool(row.code_hash) and secrets.compare_digest(row.code_hash, code_hash(activation_id=row.id,
                                                                                          code=code or ""))
        used = row.code_used_at is not None and matches
        try:
            if not used and row.state == IkdState.PENDING_CODE.value and not matches:
                row.code_attempts += 1
            machine.enter_code(matches=matches, used=used, expired=code_expired(expires_at=row.code_expires_at,
                                                                                now=now),
                               attempts=row.code_attempts)
        except IkdRefused as exc:
            refusal = exc
            row.state = machine.state.value
            _store(s, machine.events)
            record_audit(s, actor="resident-device", action="ikd.code_refused", subject=f"ikd:{row.id}",
                         after={"reason": exc.code, "attempts": row.code_attempts})
        else:
            _activate(s, settings=settings, row=row, machine=machine, now=now)
    if refusal is not None:
        raise refusal
    return row


def _activate(session: Session, *, settings: Settings, row: IkdActivationRow, machine: IkdActivation,
              now: dt.datetime) -> None:
    resident = session.get(ResidentRow, row.resident_id)
    row.state, row.code_used_at, row.activated_at = machine.state.value, now, now
    row.token = credentials.sign(prefix=credentials.IKD_PREFIX, private=credentials.office_signing_key(settings), data={
        "credential_id": row.id, "nik": resident.nik, "name": resident.name, "birth_place": resident.birth_place,
        "birth_date": resident.birth_date.isoformat(), "sex": resident.sex, "office_code": row.office_code,
        "activated_at": clock.wib_date(now).isoformat(),
    })
    _store(session, machine.events)
    _report(session, row=row, nik=resident.nik)
    record_audit(session, actor="resident-device", action="ikd.activated", subject=f"ikd:{row.id}",
                 after={"nik": resident.nik, "saves_blank": row.saves_blank, "officer": row.officer})


def _report(session: Session, *, row: IkdActivationRow, nik: str, kind: str = "ikd.activated",
            reason: str = "") -> str:
    """Tell central in this transaction (kind `ikd.activated` / `ikd.revoked`): it counts digital IDs per office."""
    from ktpel.packets.ikd import CURRENT
    from ktpel.office.sync.outbox import enqueue_packet

    report = CURRENT(activation_id=row.id, nik=nik, office_code=row.office_code, officer=row.officer,
                     saves_blank=row.saves_blank, activated_at=row.activated_at.isoformat(), reason=reason,
                     revoked_at=utcnow().isoformat() if kind == "ikd.revoked" else None)
    return enqueue_packet(session, kind=kind, subject_id=row.id, payload=report.model_dump(mode="json"))


def revoke_ikd(session: Session, *, settings: Settings, activation_id: str, reason: str, actor: str,
               source_ip: str | None = None) -> IkdActivationRow:
    """Withdraw an active digital ID (a lost phone, a revoked record); central hears of it in this transaction."""
    row = _open(session, activation_id=activation_id, regency_code=settings.office_regency)
    machine = _machine(row)
    machine.revoke(reason=reason)
    row.state, row.qr_nonce = machine.state.value, None
    _store(session, machine.events)
    _report(session, row=row, nik=session.get(ResidentRow, row.resident_id).nik, kind="ikd.revoked", reason=reason)
    record_audit(session, actor=actor, action="ikd.revoked", subject=f"ikd:{row.id}", after={"reason": reason},
                 source_ip=source_ip)
    return row


def get_activation(session: Session, *, activation_id: str, regency_code: str) -> IkdActivationRow:
    row = session.get(IkdActivationRow, activation_id)
    if row is None or row.office_code != regency_code:
        raise NotFound("Aktivasi IKD tidak ditemukan.", f"No IKD activation {activation_id}.")
    return row


def activations_of(session: Session, *, resident_id: int) -> list[IkdActivationRow]:
    return list(session.scalars(select(IkdActivationRow).where(IkdActivationRow.resident_id == resident_id)
                                .order_by(IkdActivationRow.created_at.desc())))


def resident_panel(session: Session, *, resident_id: int) -> dict:
    """What the resident's page shows of IKD (office.composition.RESIDENT_PANELS): activations, newest first."""
    return {"ikd": activations_of(session, resident_id=resident_id)}


def recent(session: Session, *, limit: int = 30) -> list[IkdActivationRow]:
    return list(session.scalars(select(IkdActivationRow).order_by(IkdActivationRow.created_at.desc()).limit(limit)))


@dataclass(frozen=True)
class IkdCounts:
    activated: int
    blanks_saved: int
    activated_today: int


def counts(session: Session, *, office_code: str, since: dt.datetime | None = None) -> IkdCounts:
    """Activated digital IDs at this office, and how many were activated before any card was printed."""
    base = select(func.count()).select_from(IkdActivationRow).where(
        IkdActivationRow.office_code == office_code, IkdActivationRow.activated_at.is_not(None))
    day = utcnow() - dt.timedelta(hours=24) if since is None else since
    return IkdCounts(activated=session.scalar(base) or 0,
                     blanks_saved=session.scalar(base.where(IkdActivationRow.saves_blank.is_(True))) or 0,
                     activated_today=session.scalar(base.where(IkdActivationRow.activated_at >= day)) or 0)


def verify_ikd(session: Session, *, fields: dict) -> str:
    """VALID, or REVOKED when this office withdrew it."""
    row = session.get(IkdActivationRow, str(fields.get("credential_id", "")))
    return IkdState.REVOKED.value if row is not None and row.state == IkdState.REVOKED.value else "VALID"
