"""The pipeline's calls into other capabilities (sync events, held packets and signing, audit), in one place."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.store.schema.core import DomainEventRow


def publish(session: Session, *, office_code: str, kind: str, subject_id: str, data: dict) -> None:
    """An event to one office (sync delivers it by cursor) and the same line in central's event log."""
    from ktpel.central.sync.events import publish as sync_publish

    sync_publish(session, office_code=office_code, kind=kind, subject_id=subject_id, data=data)
    log = {k: v for k, v in data.items() if k != "authorisation"}
    session.add(DomainEventRow(name=kind, subject_id=subject_id, data={"office_code": office_code, **log}))


def issue_authorisation(*, settings: Settings, card: dict) -> str:
    """A print authorisation signed with central's active key."""
    from ktpel.sync.authorisation import issue
    from ktpel.keys.keyring import central_signing_key

    return issue(signing_key=central_signing_key(settings), card=card)


def audit(session: Session, *, actor: str, action: str, subject: str, before: dict | None = None,
          after: dict | None = None, source_ip: str | None = None) -> None:
    from ktpel.security.audit import record_audit

    record_audit(session, actor=actor, action=action, subject=subject, before=before, after=after,
                 source_ip=source_ip)


def packet_held(session: Session, *, packet_id: str) -> bool:
    """Whether sync's intake holds this packet as received (so the job need not carry its images)."""
    from ktpel.central.sync.intake import is_held

    return is_held(session, packet_id=packet_id)


def held_images(session: Session, *, packet_id: str) -> object | None:
    """The `images` of a held packet as received, or None when central holds no such packet."""
    from ktpel.central.sync.intake import held_payload

    held = held_payload(session, packet_id=packet_id)
    return held.get("images") if isinstance(held, dict) else None
