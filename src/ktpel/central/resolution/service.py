"""Data-ganda cases at central: opened by an adjudication or by an office, closed by the resident's choice.

The resident comes to either office with their family card (KK) and says which record stays; the
other is revoked: its NIK retired (never printed again), its card blocked if printed, its templates
out of the gallery. The kept record becomes print-ready with a new authorisation if it was not yet.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ktpel.central.pipeline import ports
from ktpel.central.pipeline.gallery import renumber_leaving_gallery
from ktpel.central.pipeline.stages import publish_print_ready
from ktpel.central import records
from ktpel.central.records import NationalRecords
from ktpel.config import Settings
from ktpel.domain.duplicate_case import CaseClosed, CaseInvalid
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.domain.national_record import LIVE_STATES, NationalRecordState
from ktpel.store.schema.central import DuplicateCaseRow, NationalRecordRow, RetiredNikRow
from ktpel.store.schema.core import DomainEventRow
from ktpel.sync.wiring import HandlerContext

LIVE = tuple(s.value for s in LIVE_STATES)


class NotPartOfCase(KtpelError):
    code = "not_part_of_case"
    http_status = 403


def summary(row: NationalRecordRow) -> dict:
    """What an office shows the resident about one record of the case."""
    return {"enrollment_id": row.id, "nik": row.nik, "name": row.name, "birth_place": row.birth_place,
            "birth_date": row.birth_date.isoformat(), "office_code": row.office_code,
            "state": row.state, "captured_at": row.captured_at.isoformat(), "kk_number": row.kk_number}


def _open(session: Session, *, a: NationalRecordRow, b: NationalRecordRow, source: str, opened_by: str,
          adjudication_id: str | None) -> DuplicateCaseRow:
    existing = session.scalar(select(DuplicateCaseRow).where(
        DuplicateCaseRow.status == "open",
        or_((DuplicateCaseRow.record_a == a.id) & (DuplicateCaseRow.record_b == b.id),
            (DuplicateCaseRow.record_a == b.id) & (DuplicateCaseRow.record_b == a.id))))
    if existing is not None:
        return existing
    case = DuplicateCaseRow(id="DG-" + uuid.uuid4().hex[:12].upper(), record_a=a.id, record_b=b.id,
                            source=source, adjudication_id=adjudication_id, opened_by=opened_by,
                            opened_at=utcnow(), status="open")
    session.add(case)
    session.flush()
    data = {"case_id": case.id, "records": [summary(a), summary(b)], "source": source}
    for office in sorted({a.office_code, b.office_code}):
        mine = [r.id for r in (a, b) if r.office_code == office]
        ports.publish(session, office_code=office, kind="duplicate.case_opened", subject_id=case.id,
                      data={**data, "enrollment_ids": mine})
    ports.audit(session, actor=opened_by, action="duplicate_case.open", subject=case.id,
                after={"record_a": a.id, "record_b": b.id, "source": source})
    return case


def open_case_from_adjudication(session: Session, *, record: NationalRecordRow, candidate: NationalRecordRow,
                                adjudication_id: str, opened_by: str) -> DuplicateCaseRow:
    """"Same person", confirmed by two adjudicators: both offices hear of the case."""
    return _open(session, a=candidate, b=record, source="adjudication", opened_by=opened_by,
                 adjudication_id=adjudication_id)


def _live_by_nik(session: Session, nik: str) -> NationalRecordRow | None:
    return session.scalars(select(NationalRecordRow).where(
        NationalRecordRow.nik == nik, NationalRecordRow.state.in_(LIVE))
        .order_by(NationalRecordRow.received_at.desc())).first()


def open_case_from_office(session: Session, *, office_code: str, nik_a: str, nik_b: str, reported_by: str,
                          reason: str) -> DuplicateCaseRow:
    """An office found two NIKs for one person: the same case as after adjudication."""
    if nik_a == nik_b:
        raise CaseInvalid("Dua NIK yang dilaporkan sama.", "The two reported NIKs are the same.")
    a, b = _live_by_nik(session, nik_a), _live_by_nik(session, nik_b)
    missing = [n for n, r in ((nik_a, a), (nik_b, b)) if r is None]
    if missing:
        raise CaseInvalid(f"NIK tanpa rekaman aktif di pusat: {', '.join(missing)}.",
                          f"No live central record for NIK {', '.join(missing)}.")
    if office_code not in (a.office_code, b.office_code):
        raise NotPartOfCase("Kantor pelapor tidak memegang salah satu rekaman.",
                            "The reporting office holds neither record.")
    return _open(session, a=a, b=b, source="office", opened_by=f"{office_code}:{reported_by}",
                 adjudication_id=None)


def get_case(session: Session, *, case_id: str) -> DuplicateCaseRow:
    case = session.get(DuplicateCaseRow, case_id)
    if case is None:
        raise NotFound(f"Kasus data ganda {case_id} tidak ada.", f"Duplicate case {case_id} does not exist.")
    return case


PHOTO_MAX_SIDE = 480  # what a counter screen shows beside the resident; never the full-size original


def record_photo_for_office(session: Session, *, case_id: str, enrollment_id: str, office_code: str,
                            source_ip: str | None = None) -> dict:
    """The face photo (PNG, at most PHOTO_MAX_SIDE px) and KK of one record of an OPEN case, for an office that
    holds one of the case's records: the counter shows both records side by side before a NIK is revoked."""
    import base64

    from ktpel.biometrics import imageio
    from ktpel.biometrics.errors import BiometricError

    case = get_case(session, case_id=case_id)
    if case.status != "open":
        raise CaseClosed("Kasus ini sudah ditutup.", f"Case {case_id} is closed: its photos are no longer served.")
    if enrollment_id not in (case.record_a, case.record_b):
        raise NotFound("Rekaman ini bukan bagian dari kasus.", f"Record {enrollment_id} is not part of case {case_id}.")
    rows = [session.get(NationalRecordRow, r) for r in (case.record_a, case.record_b)]
    if office_code not in {r.office_code for r in rows if r is not None}:
        raise NotPartOfCase("Kantor ini tidak memegang rekaman kasus ini.",
                            f"Office {office_code} holds neither record of case {case_id}.")
    row = next(r for r in rows if r is not None and r.id == enrollment_id)
    found = records.image(session, row=row, key="face")
    face = found[0] if found is not None else None
    if face is None:
        raise NotFound("Pusat tidak menyimpan foto wajah rekaman ini.", f"Central holds no face photo of {enrollment_id}.")
    try:
        png = imageio.display_png(base64.b64decode(face), max_side=PHOTO_MAX_SIDE)
    except BiometricError:
        raise NotFound("Foto wajah rekaman ini tidak dapat dibaca.", "The stored face photo cannot be decoded.") from None
    ports.audit(session, actor=f"office:{office_code}", action="duplicate_case.photo_read", subject=case_id,
                after={"record": enrollment_id, "record_office": row.office_code}, source_ip=source_ip)
    return {"case_id": case_id, "enrollment_id": enrollment_id, "kk_number": row.kk_number,
            "media_type": "image/png", "face": base64.b64encode(png).decode("ascii")}


def resolve_case(session: Session, *, settings: Settings, case_id: str, keep_enrollment_id: str,
                 office_code: str, chosen_by: str) -> DuplicateCaseRow:
    """The resident chose `keep_enrollment_id`: revoke the other, make the kept one PRR, close the case."""
    q = select(DuplicateCaseRow).where(DuplicateCaseRow.id == case_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    case = session.scalars(q).first()
    if case is None:
        raise NotFound(f"Kasus data ganda {case_id} tidak ada.", f"Duplicate case {case_id} does not exist.")
    if case.status != "open":
        raise CaseClosed(f"Kasus {case_id} sudah ditutup (dipertahankan: {case.kept_record_id}).",
                         f"Case {case_id} is already closed (kept: {case.kept_record_id}).")
    if keep_enrollment_id not in (case.record_a, case.record_b):
        raise CaseInvalid("Rekaman yang dipilih bukan bagian dari kasus ini.",
                          "The chosen record is not part of this case.")
    records = NationalRecords(session)
    kept_record = records.get(keep_enrollment_id)
    other_record = records.get(case.record_b if keep_enrollment_id == case.record_a else case.record_a)
    kept, other = records.row(kept_record), records.row(other_record)
    if office_code not in (kept.office_code, other.office_code):
        raise NotPartOfCase("Kantor ini tidak memegang rekaman kasus ini.", "This office holds neither record.")
    now = utcnow()
    before = {"kept": kept.state, "other": other.state}
    # revoke the other record; its NIK is retired unless the kept record carries the same NIK
    if other_record.state is not NationalRecordState.REVOKED:
        other_record.revoke(case_id=case.id, kept_record_id=kept.id)
        renumber_leaving_gallery(session, record=other)  # the workers' next refresh drops it
    other.decided_at = now
    records.save(other_record)
    if other.nik != kept.nik and session.get(RetiredNikRow, other.nik) is None:
        session.add(RetiredNikRow(nik=other.nik, record_id=other.id, case_id=case.id, retired_at=now))
    ports.publish(session, office_code=other.office_code, kind="revocation", subject_id=other.id,
                  data={"enrollment_id": other.id, "card_id": other.card_id, "nik": other.nik,
                        "case_id": case.id, "kept_enrollment_id": kept.id,
                        "reason": f"data ganda {case.id}: dipertahankan {kept.nik}"})
    if kept_record.can("keep_after_resolution"):
        publish_print_ready(records, record=kept_record, settings=settings, now=now, case_id=case.id)
    case.status = "closed"
    case.kept_record_id = kept.id
    case.revoked_record_id = other.id
    case.resolved_at_office = office_code
    case.resolved_by = chosen_by
    case.closed_at = now
    ports.audit(session, actor=f"{office_code}:{chosen_by}", action="duplicate_case.resolve", subject=case.id,
                before=before, after={"kept": kept.id, "revoked": other.id, "retired_nik": other.nik})
    return case


def handle_resolution_packet(session: Session, *, context: HandlerContext, packet_id: str, office_code: str,
                             kind: str, subject_id: str, payload: dict) -> None:
    """Intake handler for kind `duplicate.resolution` (action `choose` or `open`).

    A packet is never refused for a business reason (the office would resend it forever): a choice
    that arrives after the case closed, or a report that does not hold, is logged on central's event
    log and the offices learn the outcome from the events they already get.
    """
    action = payload.get("action") if isinstance(payload, dict) else None
    try:
        with session.begin_nested():  # a refusal leaves nothing half-written
            _apply_resolution(session, settings=context.settings, action=action, payload=payload,
                              office_code=office_code)
    except (KtpelError, KeyError) as exc:
        message = exc.message_en if isinstance(exc, KtpelError) else f"missing field {exc}"
        session.add(DomainEventRow(name="duplicate.resolution_refused", subject_id=str(subject_id)[:40],
                                   data={"packet_id": packet_id, "office_code": office_code, "error": message}))


def _apply_resolution(session: Session, *, settings: Settings, action: object, payload: dict,
                      office_code: str) -> None:
    if action == "choose":
        resolve_case(session, settings=settings,
                     case_id=str(payload["case_id"]), keep_enrollment_id=str(payload["keep_enrollment_id"]),
                     office_code=office_code, chosen_by=str(payload.get("chosen_by", "")))
    elif action == "open":
        open_case_from_office(session, office_code=office_code, nik_a=str(payload["nik_a"]),
                              nik_b=str(payload["nik_b"]), reported_by=str(payload.get("reported_by", "")),
                              reason=str(payload.get("reason", "")))
    else:
        raise CaseInvalid("Tindakan paket tidak dikenal.", f"unknown action {action!r}")
