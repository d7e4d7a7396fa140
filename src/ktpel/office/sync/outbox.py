"""Transactional outbox (office side): a packet is written in the same transaction as the change it reports.

The packet's content is canonical JSON `{kind, subject_id, payload, created_at, nonce}`; its SHA-256 is the
packet id. The content is stored encrypted at rest and is signed with the office key and sealed to
central's current key when sent (see `envelope.py`), so recording never needs central or its keys, and a
key rotation between queueing and sending loses nothing.
"""

from __future__ import annotations

import json
import os

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.domain.delivery import PacketState
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.store.schema.sync import OutboxRow
from ktpel.keys import crypto

KINDS = frozenset({"enrollment", "card.printed", "card.issued", "duplicate.resolution"})
QUEUED, SENT = PacketState.QUEUED.value, PacketState.SENT.value


class InvalidPacket(KtpelError):
    code = "packet_invalid"


def packet_content(*, kind: str, subject_id: str, payload: dict) -> bytes:
    """The canonical bytes of a new packet (fresh nonce: two identical payloads are two packets)."""
    if not isinstance(kind, str) or not kind or len(kind) > 40:
        raise InvalidPacket("Jenis paket tidak valid.", f"Packet kind {kind!r} is not valid.")
    if not isinstance(subject_id, str) or not subject_id or len(subject_id) > 64:
        raise InvalidPacket("Subjek paket tidak valid.", f"Packet subject {subject_id!r} is not valid.")
    if not isinstance(payload, dict):
        raise InvalidPacket("Isi paket harus objek JSON.", "The packet payload must be a JSON object.")
    try:
        return crypto.canonical_json({
            "v": 1, "kind": kind, "subject_id": subject_id, "payload": payload,
            "created_at": utcnow().isoformat(), "nonce": crypto.b64e(os.urandom(12)),
        })
    except (TypeError, ValueError) as exc:
        raise InvalidPacket("Isi paket tidak bisa dijadikan JSON.", f"The payload is not JSON: {exc}") from exc


def enqueue_packet(session: Session, *, kind: str, subject_id: str, payload: dict) -> str:
    """Queue one packet for central in the caller's transaction and return its id (SHA-256 of its content)."""
    content = packet_content(kind=kind, subject_id=subject_id, payload=payload)
    packet_id = crypto.sha256_hex(content)
    session.add(OutboxRow(packet_id=packet_id, kind=kind, subject_id=subject_id,
                          content=content.decode("utf-8"), state=QUEUED))
    session.flush()
    return packet_id


def queued_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.state == QUEUED)) or 0


def next_queued(session: Session, *, limit: int = 1) -> list[OutboxRow]:
    """The oldest packets still waiting for a receipt."""
    return list(session.scalars(
        select(OutboxRow).where(OutboxRow.state == QUEUED).order_by(OutboxRow.seq).limit(limit)))


def content_of(row: OutboxRow) -> dict:
    return json.loads(row.content)
