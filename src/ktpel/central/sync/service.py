"""What people do with sync at central: accept an office's registration, announce maintenance, overview."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.store.schema.sync import (AnnouncementRow, CentralEventRow, CentralPacketRow, EnrolmentTokenRow,
                                     RejectionRow, SyncOfficeRow)
from ktpel.keys import crypto
from ktpel.keys import keyring as keymod
from ktpel.central.sync.intake import register_office
from ktpel.central.sync.events import publish_to_all
from ktpel.sync.registration import RegistrationFailed, signed_key_list


class AnnouncementInvalid(KtpelError):
    code = "announcement_invalid"
    http_status = 422


ENROLMENT_TOKEN_PREFIX = "kte_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_enrolment_token(session: Session, *, regency_code: str, issued_by: str,
                          valid_hours: float = 72.0, now: dt.datetime | None = None) -> str:
    """A one-time token (shown once, only its hash kept) letting one office of `regency_code` register."""
    if not re.fullmatch(r"\d{2}\.\d{2}", regency_code or ""):
        raise RegistrationFailed("Kode kabupaten/kota harus berbentuk NN.NN, mis. 18.02.",
                                 "The regency code must look like NN.NN, e.g. 18.02.")
    if not 0 < valid_hours <= 24 * 30:
        raise RegistrationFailed("Masa berlaku token 1 jam sampai 30 hari.", "A token is valid 1 hour to 30 days.")
    now = now or utcnow()
    token = ENROLMENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(EnrolmentTokenRow(token_hash=_token_hash(token), regency_code=regency_code, issued_by=issued_by,
                                  issued_at=now, expires_at=now + dt.timedelta(hours=valid_hours)))
    session.flush()
    return token


def _redeem_token(session: Session, *, token: str, regency_code: str, kid: str) -> None:
    """Spend a one-time token for this regency, or refuse (unknown, other regency, used, expired)."""
    row = session.scalar(select(EnrolmentTokenRow).where(EnrolmentTokenRow.token_hash == _token_hash(token))
                         .with_for_update()) if token else None
    now = utcnow()
    if row is None or row.regency_code != regency_code or row.used_at is not None or row.expires_at <= now:
        raise RegistrationFailed(
            "Token pendaftaran tidak berlaku (salah, untuk kabupaten lain, sudah dipakai atau kedaluwarsa). "
            "Minta token baru ke admin pusat: `ktpel central enrolment-token --regency KODE`.",
            "Enrolment token not valid (wrong, for another regency, already used or expired). "
            "Ask central's admin for a new one: `ktpel central enrolment-token --regency CODE`.")
    row.used_at, row.used_by_kid = now, kid[:32]


def accept_registration(session: Session, *, settings: Settings, request: dict) -> dict:
    """Central side of `ktpel office register`: store the office's keys, answer with central's.

    Secure by default: a new office needs a one-time enrolment token issued for its regency by a
    center_admin; an office already registered adds keys only with a proof signed by a key central
    has (rotation) or with a fresh token (lost keys)."""
    code, keys = request.get("office_code"), request.get("keys")
    if not isinstance(code, str) or not isinstance(keys, list) or not keys or \
            not all(isinstance(k, dict) for k in keys):
        raise RegistrationFailed("Permintaan pendaftaran tidak lengkap.", "Incomplete registration request.")
    try:
        [keymod.PublicKeys.from_dict(k) for k in keys]
    except (KeyError, TypeError, ValueError):
        raise RegistrationFailed("Kunci publik kantor tidak sah.", "The office's public keys are malformed.") from None
    token = request.get("token")
    token = token if isinstance(token, str) else ""
    existing = session.get(SyncOfficeRow, code)
    known = {k["kid"] for k in existing.keys} if existing is not None else set()
    if existing is None or not {k.get("kid") for k in keys} <= known:
        if existing is not None and not token:
            _require_proof(request, existing)
        else:
            _redeem_token(session, token=token, regency_code=code, kid=str(keys[-1].get("kid", "")))
    register_office(session, office_code=code, name=str(request.get("name", ""))[:120], keys=keys)
    ring = keymod.load_keyring(settings, side="central")
    return signed_key_list(ring)


def enrolment_tokens(session: Session, *, limit: int = 20) -> list[EnrolmentTokenRow]:
    return list(session.scalars(select(EnrolmentTokenRow).order_by(EnrolmentTokenRow.id.desc()).limit(limit)))


def _require_proof(request: dict, existing: SyncOfficeRow) -> None:
    proof = request.get("proof")
    proof = proof if isinstance(proof, dict) else {}
    body = crypto.canonical_json({"office_code": request["office_code"], "keys": request["keys"]})
    for k in existing.keys:
        if proof.get("kid") == k["kid"]:
            crypto.verify(keymod.PublicKeys.from_dict(k).signing, str(proof.get("sig", "")), body)
            return
    raise RegistrationFailed("Kantor sudah terdaftar; kunci baru harus ditandatangani kunci lama.",
                             "Office already registered: new keys must be signed by an old key.")


def register_locally(*, office_settings: Settings, central_settings: Settings, central_db) -> None:  # noqa: ANN001
    """Register an office with a central whose database and keys are on this machine (the demo)."""
    office = keymod.load_keyring(office_settings, side="office")
    with central_db.unit_of_work() as s:
        register_office(s, office_code=office_settings.office_regency, name=office_settings.office_name,
                        keys=[k.to_dict() for k in office.publics()])
    keymod.save_central_trust(office_settings, keymod.load_keyring(central_settings, side="central").publics(),
                              central_url=office_settings.central_url)


def announce_maintenance(session: Session, *, starts_at: dt.datetime, ends_at: dt.datetime | None,
                         message_id: str, message_en: str = "", created_by: str = "") -> AnnouncementRow:
    """Announce a maintenance window to every registered office (delivered as an `announcement` event)."""
    if starts_at.tzinfo is None or (ends_at is not None and ends_at.tzinfo is None):
        raise AnnouncementInvalid("Waktu harus memakai zona waktu.", "Times must carry a time zone.")
    if ends_at is not None and ends_at <= starts_at:
        raise AnnouncementInvalid("Waktu selesai harus setelah waktu mulai.", "The end must be after the start.")
    if not message_id.strip():
        raise AnnouncementInvalid("Isi pengumuman wajib diisi.", "The message is required.")
    row = AnnouncementRow(starts_at=starts_at, ends_at=ends_at, message_id=message_id.strip(),
                          message_en=message_en.strip(), created_by=created_by, created_at=utcnow())
    session.add(row)
    session.flush()
    publish_to_all(session, kind="announcement", subject_id=f"announcement-{row.id}", data={
        "id": row.id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat() if ends_at else None,
        "message_id": row.message_id, "message_en": row.message_en})
    return row


def central_overview(session: Session) -> dict:
    """Per-office packet and event counts, recent refusals and announcements, for the central page."""
    offices = list(session.scalars(select(SyncOfficeRow).order_by(SyncOfficeRow.office_code)))
    packets = dict(session.execute(select(CentralPacketRow.office_code, func.count())
                                   .group_by(CentralPacketRow.office_code)).all())
    events = dict(session.execute(select(CentralEventRow.office_code, func.max(CentralEventRow.seq))
                                  .group_by(CentralEventRow.office_code)).all())
    return {
        "offices": [{"code": o.office_code, "name": o.name, "keys": len(o.keys), "last_seen_at": o.last_seen_at,
                     "packets": packets.get(o.office_code, 0), "events": events.get(o.office_code, 0)}
                    for o in offices],
        "rejections": list(session.scalars(select(RejectionRow).order_by(RejectionRow.id.desc()).limit(20))),
        "announcements": list(session.scalars(select(AnnouncementRow).order_by(AnnouncementRow.id.desc()).limit(10))),
        "tokens": enrolment_tokens(session),
    }
