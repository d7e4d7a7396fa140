"""Recording a resident at the counter (perekaman): check, store, approve, queue, and read back.

Heavy work (image decoding, template extraction; see capture.py) happens before the transaction opens;
the transaction then writes the enrollment, its captures, phones, corrections, audit entries and the
outbox packet together, so an error anywhere leaves nothing half-stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.enrollment import EnrollmentState
from ktpel.domain.errors import KtpelError, NotFound, ValidationFailed
from ktpel.domain.events import DomainEvent, utcnow
from ktpel.domain.names import NameInvalid, normalise_name
from ktpel.domain.nik import Sex, parse_nik
from ktpel.domain.resident import (
    Address, BloodType, Citizenship, FamilyRole, MaritalStatus, Religion, Resident, validate_resident,
)
from ktpel.domain.wilayah import RegionRegistry
from ktpel.office.enrollment import packet
from ktpel.office.enrollment.capture import (  # noqa: F401 - re-exported: views and callers use service.*
    CaptureForm, CaptureRejected, LowQuality, Upload, _Captured, assess, process_captures,
)
from ktpel.office.enrollment.policy import CaptureException, RecordingError, approval_reasons
from ktpel.office.enrollment.repository import Enrollments
from ktpel.office.residents.service import ResidentStatus, get_resident, resident_status
from ktpel.security.access import Role, User
from ktpel.security.audit import record_audit
from ktpel.store.db import Database
from ktpel.store.fields import cipher, name_tokens
from ktpel.store.schema.core import DomainEventRow, EnrollmentRow, PhoneRow, ResidentNameTokenRow, ResidentRow
from ktpel.store.schema.enrollment import (
    EnrollmentApprovalRow, EnrollmentCaptureRow, EnrollmentSubmissionRow,
)

CORRECTABLE = ("name", "birth_place", "birth_date", "sex", "blood_type", "street", "rt", "rw",
               "village_code", "religion", "marital_status", "occupation", "citizenship")


class AlreadyRecorded(KtpelError):
    """The resident has an enrollment that is not FAILED: a second one would be a duplicate."""

    code = "already_recorded"
    http_status = 409


class ApprovalRefused(KtpelError):
    code = "approval_refused"
    http_status = 403


@dataclass(frozen=True)
class RecordingResult:
    enrollment_id: str
    state: str
    receipt_number: str
    quality: dict
    approval_reasons: list[str]
    created: bool  # False when a repeated submit found the first enrollment


# -- finding and checking ------------------------------------------------------------------------------
def check_can_record(session: Session, *, resident_id: int) -> ResidentStatus:
    """The resident's status; raise AlreadyRecorded unless they have no enrollment or only FAILED ones."""
    status = resident_status(session, resident_id=resident_id)
    open_row = session.scalar(
        select(EnrollmentRow).where(
            EnrollmentRow.resident_id == resident_id,
            EnrollmentRow.state != EnrollmentState.FAILED.value,
        ).order_by(EnrollmentRow.created_at.desc()).limit(1)
    )
    if open_row is not None:
        raise AlreadyRecorded(
            f"Penduduk ini sudah direkam (status {status.code}: {status.label_id}, tanda terima "
            f"{open_row.receipt_number}). Perekaman ulang hanya untuk rekaman yang gagal (EFAC).",
            f"This resident is already recorded (status {status.code}, receipt {open_row.receipt_number}); "
            "re-recording is only allowed after a failed (EFAC) recording.",
        )
    return status


# -- demographics and phones ---------------------------------------------------------------------------
def _domain_resident(row: ResidentRow, corrections: dict[str, str]) -> Resident:
    values = {name: getattr(row, name) for name in CORRECTABLE}
    for name, raw in corrections.items():
        if name not in CORRECTABLE:
            raise RecordingError(f"Kolom {name} tidak dapat diubah di sini.", f"Field {name} cannot be corrected here.",
                                 code="field_not_correctable")
        values[name] = raw.strip() if isinstance(raw, str) else raw
    try:
        birth = values["birth_date"]
        birth = birth if isinstance(birth, dt.date) else dt.date.fromisoformat(str(birth))
        return Resident(
            nik=row.nik, kk_number=row.kk_number, name=_name(values["name"]),
            birth_place=str(values["birth_place"]).upper(), birth_date=birth, sex=Sex(values["sex"]),
            blood_type=BloodType(values["blood_type"]),
            address=Address(street=str(values["street"]), rt=str(values["rt"]), rw=str(values["rw"]),
                            village_code=str(values["village_code"])),
            religion=Religion(values["religion"]), marital_status=MaritalStatus(values["marital_status"]),
            occupation=str(values["occupation"]).upper(), citizenship=Citizenship(values["citizenship"]),
            family_role=FamilyRole(row.family_role),
        )
    except ValueError as exc:
        raise RecordingError(f"Isian data penduduk tidak valid: {exc}.", f"Invalid demographic value: {exc}.",
                             code="demographics_invalid") from None


def _name(raw: object) -> str:
    """The name normalised by Dukcapil's rule; an invalid one is kept for validate_resident to report."""
    try:
        return normalise_name(str(raw))
    except NameInvalid:
        return str(raw)


def parse_phone(raw: str) -> str:
    """A phone number as E.164 (+62 when written locally, e.g. 0812…)."""
    try:
        number = phonenumbers.parse(raw.strip(), "ID")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise RecordingError(f"Nomor telepon {raw.strip()!r} tidak valid.", f"Phone number {raw.strip()!r} is not valid.",
                             code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _apply_corrections(session: Session, row: ResidentRow, corrected: Resident) -> dict:
    """Write corrected fields to the resident row; returns {field: True} for the audit's changed list."""
    new = {
        "name": corrected.name, "birth_place": corrected.birth_place, "birth_date": corrected.birth_date,
        "sex": corrected.sex.value, "blood_type": corrected.blood_type.value,
        "street": corrected.address.street, "rt": corrected.address.rt, "rw": corrected.address.rw,
        "village_code": corrected.address.village_code, "religion": corrected.religion.value,
        "marital_status": corrected.marital_status.value, "occupation": corrected.occupation,
        "citizenship": corrected.citizenship.value,
    }
    changed = {k: v for k, v in new.items() if getattr(row, k) != v}
    for k, v in changed.items():
        setattr(row, k, v)
    if "village_code" in changed:
        row.district_code = corrected.address.village_code.rsplit(".", 1)[0]
    if "name" in changed:
        session.execute(delete(ResidentNameTokenRow).where(ResidentNameTokenRow.resident_id == row.id))
        c = cipher()
        for token in name_tokens(corrected.name):
            session.add(ResidentNameTokenRow(resident_id=row.id, token=c.blind_index(token)))
    return changed


# -- the transaction -----------------------------------------------------------------------------------
_RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread


def new_receipt_number() -> str:
    """A receipt number the resident types on the public status page (60 random bits)."""
    raw = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _existing(session: Session, form_token: str, *, nik: str) -> RecordingResult | None:
    sub = session.get(EnrollmentSubmissionRow, form_token)
    if sub is None:
        return None
    row = session.get(EnrollmentRow, sub.enrollment_id)
    if session.get(ResidentRow, row.resident_id).nik != nik:
        raise RecordingError("Token formulir ini sudah dipakai untuk penduduk lain; muat ulang halaman.",
                             "This form token was used for another resident; reload the page.",
                             code="form_token_reused")
    approval = session.get(EnrollmentApprovalRow, row.id)
    reasons = approval.reasons.split(" | ") if approval and not approval.approved_by else []
    return RecordingResult(row.id, row.state, row.receipt_number, row.quality, reasons, created=False)


def _store_events(session: Session, events: list[DomainEvent]) -> None:
    for e in events:
        session.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data=e.data, at=e.at))


def _queue(session: Session, *, row: EnrollmentRow, resident: ResidentRow) -> str:
    """CAPTURED → QUEUED: the packet goes into the outbox in the caller's transaction."""
    from ktpel.office.sync.outbox import enqueue_packet

    captures = session.scalars(
        select(EnrollmentCaptureRow).where(EnrollmentCaptureRow.enrollment_id == row.id)
    ).all()
    payload = packet.build_payload(enrollment=row, resident=resident, captures=list(captures),
                                   captured_at=row.created_at)
    packet_id = enqueue_packet(session, kind="enrollment", subject_id=row.id, payload=payload)
    enrollments = Enrollments(session)
    machine = enrollments.machine_of(row)
    machine.queue(packet_id=packet_id)
    enrollments.save(machine)
    return packet_id


@dataclass(frozen=True)
class Prepared:
    """A recording whose demographics and phones passed: what the biometric work and the write need."""

    corrected: Resident
    phones: list[tuple[str, bool]]


def prepare_recording(
    db: Database, *, settings: Settings, regions: RegionRegistry, form: CaptureForm,
) -> Prepared | RecordingResult:
    """Check the form before any image work: a repeated submit answers with its first recording."""
    if not form.form_token or len(form.form_token) > 64:
        raise RecordingError("Token formulir tidak ada; muat ulang halaman.", "The form token is missing; reload the page.",
                             code="form_token_missing")
    with db.unit_of_work() as s:
        again = _existing(s, form.form_token, nik=form.nik)
    if again is not None:
        return again
    parse_nik(form.nik, regions=regions)  # raises ValidationFailed (422) listing what is wrong
    with db.unit_of_work() as s:
        row = get_resident(s, nik=form.nik, regency_code=settings.office_regency)
        check_can_record(s, resident_id=row.id)
        corrected = _domain_resident(row, form.corrections)
    validate_resident(corrected, regions=regions)
    phones = [(parse_phone(n), consent) for n, consent in form.phones if n.strip()]
    return Prepared(corrected=corrected, phones=phones)


def store_recording(
    db: Database, *, settings: Settings, form: CaptureForm, operator: User, prepared: Prepared,
    processed: tuple[list[_Captured], dict[str, CaptureException], list[str]], source_ip: str | None = None,
) -> RecordingResult:
    """Write a prepared recording and its processed captures in one transaction, and queue it."""
    captured, exceptions, overridden = processed
    reasons = approval_reasons(exceptions=exceptions, overridden=overridden)
    try:
        with db.unit_of_work() as s:
            return _write(s, settings=settings, form=form, operator=operator, source_ip=source_ip,
                          corrected=prepared.corrected, phones=prepared.phones, captured=captured,
                          exceptions=exceptions, reasons=reasons)
    except IntegrityError:
        # a concurrent submit of the same form won the race: answer with its enrollment
        with db.unit_of_work() as s:
            again = _existing(s, form.form_token, nik=form.nik)
        if again is None:
            raise
        return again


def record_enrollment(
    db: Database, *, settings: Settings, regions: RegionRegistry, form: CaptureForm, operator: User,
    source_ip: str | None = None,
) -> RecordingResult:
    """Record one resident in this thread: validate everything, then store and queue it in one transaction.

    The web views run the same three steps with the image work in the biometric process pool
    (`extraction.record`); bulk import, the demo and the benches call this.
    """
    prepared = prepare_recording(db, settings=settings, regions=regions, form=form)
    if isinstance(prepared, RecordingResult):
        return prepared
    return store_recording(db, settings=settings, form=form, operator=operator, prepared=prepared,
                           processed=process_captures(form), source_ip=source_ip)


def _write(s: Session, *, settings: Settings, form: CaptureForm, operator: User, source_ip: str | None,
           corrected: Resident, phones: list[tuple[str, bool]], captured: list[_Captured],
           exceptions: dict[str, CaptureException], reasons: list[str]) -> RecordingResult:
    row = get_resident(s, nik=form.nik, regency_code=settings.office_regency)
    # lock the resident (PostgreSQL; SQLite serialises writers) so two counters cannot both record them
    s.execute(select(ResidentRow.id).where(ResidentRow.id == row.id).with_for_update())
    check_can_record(s, resident_id=row.id)  # again, inside the transaction that writes
    enrollment_id = uuid.uuid4().hex
    now = utcnow()
    quality = {c.kind: c.quality for c in captured}
    enrollment = EnrollmentRow(
        id=enrollment_id, resident_id=row.id, office_code=settings.office_regency,
        state=EnrollmentState.CAPTURED.value, receipt_number=new_receipt_number(), operator=operator.username,
        quality=quality, exceptions={k: v.as_dict() for k, v in exceptions.items()}, created_at=now,
    )
    s.add(enrollment)
    s.flush()
    s.add(EnrollmentSubmissionRow(form_token=form.form_token, enrollment_id=enrollment_id))
    s.flush()  # a second submit of this form fails here, before anything else is written
    for c in captured:
        s.add(EnrollmentCaptureRow(
            enrollment_id=enrollment_id, kind=c.kind, content_type=c.content_type, image=c.upload.data,
            template=c.template, quality_score=c.quality.get("score"), quality_ok=bool(c.quality.get("ok")),
        ))
    before = {k: str(getattr(row, k)) for k in CORRECTABLE}
    changed = _apply_corrections(s, row, corrected)
    if changed:
        record_audit(s, actor=operator.username, action="resident.correct", subject=row.nik, before=before,
                     after={k: str(getattr(row, k)) for k in CORRECTABLE}, source_ip=source_ip)
    known = {p.number: p for p in s.scalars(select(PhoneRow).where(PhoneRow.resident_id == row.id))}
    for number, consent in phones:
        if number in known:  # a re-recording after EFAC: keep one row, with the latest consent
            known[number].consent = consent
        else:
            known[number] = PhoneRow(resident_id=row.id, number=number, consent=consent, takes_sms=True)
            s.add(known[number])
    if phones:
        record_audit(s, actor=operator.username, action="resident.phone_add", subject=row.nik,
                     after={"phones": len(phones), "consent": [c for _, c in phones]}, source_ip=source_ip)
    _store_events(s, [DomainEvent(name="enrollment.capture", subject_id=enrollment_id,
                                  data={"to": EnrollmentState.CAPTURED.value, "operator": operator.username,
                                        "exceptions": sorted(exceptions), "needs_approval": bool(reasons)})])
    record_audit(s, actor=operator.username, action="enrollment.capture", subject=enrollment_id,
                 after={"nik": row.nik, "state": EnrollmentState.CAPTURED.value, "exceptions": sorted(exceptions),
                        "approval_reasons": reasons}, source_ip=source_ip)
    s.flush()
    if reasons:
        s.add(EnrollmentApprovalRow(enrollment_id=enrollment_id, reasons=" | ".join(reasons)[:400]))
    else:
        _queue(s, row=enrollment, resident=row)
        record_audit(s, actor=operator.username, action="enrollment.queue", subject=enrollment_id,
                     before={"state": EnrollmentState.CAPTURED.value}, after={"state": enrollment.state}, source_ip=source_ip)
    return RecordingResult(enrollment_id, enrollment.state, enrollment.receipt_number, quality, reasons,
                           created=True)


def approve_enrollment(
    db: Database, *, enrollment_id: str, supervisor: User, source_ip: str | None = None,
) -> RecordingResult:
    """A supervisor, not the operator who captured, approves a recording the policy held back; it is queued."""
    if supervisor.role not in (Role.SUPERVISOR, Role.HEAD):
        raise ApprovalRefused("Hanya supervisor yang dapat menyetujui.", "Only a supervisor may approve.")
    with db.unit_of_work() as s:
        row = s.get(EnrollmentRow, enrollment_id)
        approval = s.get(EnrollmentApprovalRow, enrollment_id)
        if row is None:
            raise NotFound("Perekaman tidak ditemukan.", "No such enrollment.")
        if approval is None or approval.approved_by is not None:
            raise ApprovalRefused("Perekaman ini tidak menunggu persetujuan.", "This enrollment awaits no approval.",
                                  code="approval_not_pending")
        if supervisor.username == row.operator:
            raise ApprovalRefused(
                "Persetujuan harus oleh pengguna lain, bukan petugas yang merekam.",
                "Approval must come from a second user, not the operator who recorded.", code="approval_same_user")
        approval.approved_by = supervisor.username
        approval.approved_at = utcnow()
        row.approved_by = supervisor.username
        resident = s.get(ResidentRow, row.resident_id)
        record_audit(s, actor=supervisor.username, action="enrollment.approve", subject=row.id,
                     before={"operator": row.operator, "reasons": approval.reasons},
                     after={"approved_by": supervisor.username}, source_ip=source_ip)
        _queue(s, row=row, resident=resident)
        record_audit(s, actor=supervisor.username, action="enrollment.queue", subject=row.id,
                     before={"state": EnrollmentState.CAPTURED.value}, after={"state": row.state}, source_ip=source_ip)
        return RecordingResult(row.id, row.state, row.receipt_number, row.quality, [], created=False)


# -- reading -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrollmentView:
    id: str
    state: str
    state_code: str
    state_label_id: str
    receipt_number: str
    office_code: str
    operator: str
    approved_by: str | None
    created_at: dt.datetime
    quality: dict
    exceptions: dict
    approval_reasons: list[str]
    nik: str
    name: str

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["created_at"] = self.created_at.isoformat()
        d["enrollment_id"] = d.pop("id")
        return d


def get_enrollment(session: Session, *, enrollment_id: str, office_code: str) -> EnrollmentView:
    """One enrollment of this office, with its resident's NIK and name."""
    row = session.get(EnrollmentRow, enrollment_id)
    if row is None or row.office_code != office_code:
        raise NotFound("Perekaman tidak ditemukan.", f"No enrollment {enrollment_id}.")
    resident = session.get(ResidentRow, row.resident_id)
    approval = session.get(EnrollmentApprovalRow, row.id)
    pending = approval.reasons.split(" | ") if approval and not approval.approved_by else []
    state = EnrollmentState(row.state)
    return EnrollmentView(
        id=row.id, state=row.state, state_code=state.office_code, state_label_id=state.label_id,
        receipt_number=row.receipt_number, office_code=row.office_code, operator=row.operator,
        approved_by=row.approved_by, created_at=row.created_at, quality=row.quality or {},
        exceptions=row.exceptions or {}, approval_reasons=pending, nik=resident.nik, name=resident.name,
    )


def enrolled_templates(session: Session, *, enrollment_id: str) -> dict[str, bytes]:
    """Template bytes of an enrollment (`face`, `finger_1`…`finger_10`; absent fingers omitted)."""
    rows = session.scalars(
        select(EnrollmentCaptureRow).where(EnrollmentCaptureRow.enrollment_id == enrollment_id,
                                           EnrollmentCaptureRow.template.is_not(None))
    ).all()
    if not rows and session.get(EnrollmentRow, enrollment_id) is None:
        raise NotFound("Perekaman tidak ditemukan.", f"No enrollment {enrollment_id}.")
    return {r.kind: r.template for r in rows}


def enrolled_images(session: Session, *, enrollment_id: str) -> dict[str, bytes]:
    """The captured images as uploaded (`face`, `signature`, `finger_N`)."""
    rows = session.scalars(
        select(EnrollmentCaptureRow).where(EnrollmentCaptureRow.enrollment_id == enrollment_id)
    ).all()
    if not rows and session.get(EnrollmentRow, enrollment_id) is None:
        raise NotFound("Perekaman tidak ditemukan.", f"No enrollment {enrollment_id}.")
    return {r.kind: r.image for r in rows}


def new_form_token() -> str:
    """A token the capture page carries so a double submit records once."""
    return secrets.token_urlsafe(24)


__all__ = [
    "AlreadyRecorded", "ApprovalRefused", "CaptureForm", "CaptureRejected", "LowQuality", "RecordingResult",
    "Prepared", "Upload", "ValidationFailed", "approve_enrollment", "assess", "check_can_record", "enrolled_images",
    "capture_from_json", "enrolled_templates", "get_enrollment", "new_form_token", "parse_phone",
    "prepare_recording", "receipt_pdf", "record_enrollment", "store_recording",
]


def capture_from_json(demo: object) -> CaptureForm:
    """The API's demographics (decoded JSON, or the parsed model) as a capture form; files come separately."""
    from ktpel.office.enrollment.schemas import DemographicsIn, parse_demographics

    model = demo if isinstance(demo, DemographicsIn) else parse_demographics(demo)
    phones = [(p, False) if isinstance(p, str) else (p.number, p.consent) for p in model.phones]

    def exception(value: object) -> dict | str:
        return value.model_dump() if hasattr(value, "model_dump") else value

    exceptions: dict[str, dict | str] = {k: exception(v) for k, v in model.exceptions.items()}
    for pos, reason in model.missing_fingers.items():
        exceptions[f"finger_{pos}"] = (exception(reason) if not isinstance(reason, str)
                                       else {"kind": "missing", "reason": reason})
    return CaptureForm(
        nik=model.nik, form_token=model.form_token or new_form_token(), exceptions=exceptions,
        corrections={k: getattr(model, k) for k in CORRECTABLE if getattr(model, k) not in (None, "")},
        phones=phones, override_low_quality=model.override_low_quality,
    )


def receipt_pdf(session: Session, *, enrollment_id: str, office_code: str, office_name: str) -> bytes:
    """The printable receipt (tanda terima) of one enrollment."""
    from ktpel.office.enrollment.receipt import render_receipt

    view = get_enrollment(session, enrollment_id=enrollment_id, office_code=office_code)
    return render_receipt(
        enrollment_id=view.id, receipt_number=view.receipt_number, nik=view.nik, name=view.name,
        recorded_at=view.created_at, office_name=office_name,
        state_label=f"{view.state_code} — {view.state_label_id}",
    )
