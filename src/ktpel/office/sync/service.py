"""What people do with sync at the office: register with central, read the outbox, check the audit chain
against central's copy."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.delivery import PacketState
from ktpel.security.audit import ChainReport
from ktpel.security.checkpoints import check_against, side_public_keys, verify_anchored
from ktpel.security.tls import client_verify
from ktpel.store.schema.sync import OutboxRow
from ktpel.keys import crypto
from ktpel.keys import keyring as keymod
from ktpel.sync.registration import RegistrationFailed, accept_key_list


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


def office_queue(session: Session, *, limit: int = 50) -> list[OutboxRow]:
    """The packets still waiting (or refused), oldest first."""
    return list(session.scalars(select(OutboxRow).where(OutboxRow.state != PacketState.SENT.value)
                                .order_by(OutboxRow.seq).limit(limit)))


def outbox_totals(session: Session) -> dict[str, int]:
    return dict(session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())


def verify_audit_with_central(session: Session, *, settings: Settings, central_checkpoints: list[dict]) -> ChainReport:
    """The office's audit chain against its own signed checkpoints and against the copy central holds
    (`central_checkpoints`, read by the agent): the copy the office's administrator cannot touch."""
    report = verify_anchored(session, settings=settings, side="office")
    report.problems.extend(check_against(session, central_checkpoints, source="central",
                                         public_keys=side_public_keys(settings, side="office")))
    return report
