"""What people do with sync: register an office, announce maintenance, read the state of both sides."""

from __future__ import annotations

import datetime as dt
import hmac

import httpx

from ktpel.security.tls import client_verify
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.delivery import PacketState
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.store.schema.sync import (AnnouncementRow, CentralEventRow, CentralPacketRow, OutboxRow,
                                     RejectionRow, SyncOfficeRow)
from ktpel.sync import crypto
from ktpel.sync import keys as keymod
from ktpel.sync.central_intake import register_office
from ktpel.sync.events import publish_to_all


class RegistrationFailed(KtpelError):
    code = "registration_failed"
    http_status = 403


class AnnouncementInvalid(KtpelError):
    code = "announcement_invalid"
    http_status = 422


def signed_key_list(ring: keymod.Keyring) -> dict:
    """Central's public keys, signed by every key in the ring, so an office that trusts any old key
    can accept the new ones (rotation without a new registration)."""
    body = {"v": 1, "keys": [k.to_dict() for k in ring.publics()]}
    data = crypto.canonical_json(body)
    return {**body, "sigs": {p.kid: crypto.sign(p.signing, data) for p in ring.pairs}}


def accept_key_list(doc: dict, *, trusted: list[keymod.PublicKeys]) -> list[keymod.PublicKeys]:
    """The keys of a signed list, provided one key we already trust signed it."""
    data = crypto.canonical_json({"v": doc.get("v"), "keys": doc.get("keys")})
    for k in trusted:
        sig = (doc.get("sigs") or {}).get(k.kid)
        if sig:
            crypto.verify(k.signing, sig, data)
            return [keymod.PublicKeys.from_dict(d) for d in doc["keys"]]
    raise RegistrationFailed("Daftar kunci pusat tidak ditandatangani kunci yang dipercaya.",
                             "Central's key list is not signed by a trusted key.")


def accept_registration(session: Session, *, settings: Settings, request: dict) -> dict:
    """Central side of `ktpel office register`: store the office's keys, answer with central's."""
    token = settings.sync_registration_token
    if token and not hmac.compare_digest(str(request.get("token", "")), token):
        raise RegistrationFailed("Token pendaftaran salah.", "Wrong registration token.")
    code, keys = request.get("office_code"), request.get("keys")
    if not isinstance(code, str) or not isinstance(keys, list) or not keys:
        raise RegistrationFailed("Permintaan pendaftaran tidak lengkap.", "Incomplete registration request.")
    existing = session.get(SyncOfficeRow, code)
    if existing is not None and not token:
        # without a shared token, only the holder of a key central already has may add keys
        known = {k["kid"] for k in existing.keys}
        if not {k.get("kid") for k in keys} <= known:
            _require_proof(request, existing)
    register_office(session, office_code=code, name=str(request.get("name", "")), keys=keys)
    ring = keymod.load_keyring(settings, side="central")
    return signed_key_list(ring)


def _require_proof(request: dict, existing: SyncOfficeRow) -> None:
    proof = request.get("proof") or {}
    body = crypto.canonical_json({"office_code": request["office_code"], "keys": request["keys"]})
    for k in existing.keys:
        if proof.get("kid") == k["kid"]:
            crypto.verify(keymod.PublicKeys.from_dict(k).signing, proof.get("sig", ""), body)
            return
    raise RegistrationFailed("Kantor sudah terdaftar; kunci baru harus ditandatangani kunci lama.",
                             "Office already registered: new keys must be signed by an old key.")


def register_with_central(settings: Settings, *, central_url: str, token: str | None = None,
                          client: httpx.Client | None = None) -> list[keymod.PublicKeys]:
    """Office side: send our public keys (signed by our previous key when rotating) and trust central's."""
    ring = keymod.load_keyring(settings, side="office")
    keys = [k.to_dict() for k in ring.publics()]
    body = {"office_code": settings.office_regency, "name": settings.office_name, "keys": keys}
    if len(ring.pairs) > 1:
        proof_key = ring.pairs[0]
        body["proof"] = {"kid": proof_key.kid, "sig": crypto.sign(
            proof_key.signing, crypto.canonical_json({"office_code": body["office_code"], "keys": keys}))}
    if token:
        body["token"] = token
    client = client or httpx.Client(timeout=settings.sync_timeout_s, verify=client_verify(settings))
    response = client.post(central_url.rstrip("/") + "/api/v1/sync/register", json=body)
    if response.status_code != 200:
        raise RegistrationFailed(f"Pusat menolak pendaftaran: {response.text[:200]}",
                                 f"Central refused the registration: {response.text[:200]}")
    doc = response.json()
    trusted = keymod.load_central_trust(settings)
    if trusted:
        central = accept_key_list(doc, trusted=trusted)
    else:
        # first contact: trust on first use, as an enrolment step done once by staff
        central = [keymod.PublicKeys.from_dict(d) for d in doc["keys"]]
    keymod.save_central_trust(settings, central, central_url=central_url)
    return central


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
    }


def office_queue(session: Session, *, limit: int = 50) -> list[OutboxRow]:
    """The packets still waiting (or refused), oldest first."""
    return list(session.scalars(select(OutboxRow).where(OutboxRow.state != PacketState.SENT.value)
                                .order_by(OutboxRow.seq).limit(limit)))


def outbox_totals(session: Session) -> dict[str, int]:
    return dict(session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
