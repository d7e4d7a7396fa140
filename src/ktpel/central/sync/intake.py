"""Central intake: verify, open, store durably, run the kind's handlers — all before a receipt exists.

The handlers per kind come from central's composition module (`ktpel.central.composition.INTAKE`) and
are called as `fn(session, *, context, packet_id, office_code, kind, subject_id, payload)` in the
transaction that stores the packet, so a packet is either stored with every handler's effect or not at
all (and the office resends). A kind with no entry is refused; a kind with no handler is only stored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.store.db import Database
from ktpel.store.schema.sync import CentralPacketRow, RejectionRow, SyncOfficeRow
from ktpel.sync import envelope as env
from ktpel.central.sync.events import publish
from ktpel.keys.keyring import Keyring, PublicKeys
from ktpel.sync.wiring import HandlerContext, IntakeHandlers

log = logging.getLogger("ktpel.sync.central")


def office_keys(session: Session, office_code: str) -> list[PublicKeys] | None:
    row = session.get(SyncOfficeRow, office_code)
    return None if row is None else [PublicKeys.from_dict(k) for k in row.keys]


def register_office(session: Session, *, office_code: str, name: str, keys: list[dict]) -> SyncOfficeRow:
    """Record (or update) an office and its public keys; keys it held before stay valid."""
    parsed = [PublicKeys.from_dict(k) for k in keys]
    row = session.get(SyncOfficeRow, office_code)
    if row is None:
        row = SyncOfficeRow(office_code=office_code, name=name, keys=[k.to_dict() for k in parsed])
        session.add(row)
    else:
        known = {k["kid"]: k for k in row.keys}
        for k in parsed:
            known.setdefault(k.kid, k.to_dict())
        row.keys = list(known.values())
        row.name = name or row.name
    session.flush()
    return row


def log_rejection(db: Database, *, reason: str, detail: str, office_code: str = "", packet_id: str = "",
                  remote: str = "") -> None:
    """Write the refusal to the intake log in its own transaction (nothing of the packet is stored)."""
    log.warning("sync refused %s from office=%s packet=%s remote=%s: %s", reason, office_code, packet_id,
                remote, detail)
    with db.unit_of_work() as s:
        s.add(RejectionRow(reason=reason[:40], detail=detail[:2000], office_code=str(office_code)[:40],
                           packet_id=str(packet_id)[:80], remote=remote[:64]))


def receive_packet(db: Database, *, envelope: object, central: Keyring, intake: IntakeHandlers,
                   context: HandlerContext, remote: str = "",
                   replay_window: dt.timedelta = dt.timedelta(days=60)) -> tuple[dict, bool]:
    """Store one packet exactly once and return (central's signed receipt, whether it was already held)."""
    doc: dict = envelope if isinstance(envelope, dict) else {}
    try:
        doc = env.check_packet_shape(envelope)
        return _store(db, doc=doc, central=central, intake=intake, context=context, replay_window=replay_window)
    except env.Refused as exc:
        log_rejection(db, reason=exc.reason, detail=exc.detail, office_code=str(doc.get("office", "")),
                      packet_id=str(doc.get("packet_id", "")), remote=remote)
        raise
    except IntegrityError:
        # the same packet committed by a concurrent request: answer with the receipt that one stored
        with db.unit_of_work() as s:
            row = s.get(CentralPacketRow, doc["packet_id"])
            if row is None:
                raise
            return json.loads(row.receipt), True


def _store(db: Database, *, doc: dict, central: Keyring, intake: IntakeHandlers, context: HandlerContext,
           replay_window: dt.timedelta) -> tuple[dict, bool]:
    handlers = intake.handlers
    with db.unit_of_work() as s:
        keys = office_keys(s, doc["office"])
        if keys is None:
            raise env.Refused("unknown_office", f"office {doc['office']} is not registered", status=403)
        env.verify_packet(doc, office_keys=keys)
        existing = s.get(CentralPacketRow, doc["packet_id"])
        if existing is not None:
            log.info("resend of packet %s from %s: same receipt", doc["packet_id"], doc["office"])
            return json.loads(existing.receipt), True
        body = env.open_packet(doc, central=central)
        now = utcnow()
        if body["created_at"] < now - replay_window:
            raise env.Refused("stale", f"packet queued {body['created_at'].isoformat()} is older than the "
                              f"replay window of {replay_window.days} days")
        if body["kind"] not in handlers:
            raise env.Refused("unknown_kind", f"packet kind {body['kind']!r} is not accepted")
        receipt = env.make_receipt(packet_id=doc["packet_id"], office_code=doc["office"],
                                   central=central.active, received_at=now)
        hold_packet(s, packet_id=doc["packet_id"], office_code=doc["office"], kind=body["kind"],
                    subject_id=body["subject_id"], payload=body["payload"], created_at=body["created_at"],
                    received_at=now, receipt=receipt)
        for handler in handlers[body["kind"]]:
            handler(s, context=context, packet_id=doc["packet_id"], office_code=doc["office"], kind=body["kind"],
                    subject_id=body["subject_id"], payload=body["payload"])
        if body["kind"] == "enrollment" and not handlers["enrollment"]:
            # no pipeline installed: central only confirms that it holds the recording (RECEIVED)
            publish(s, office_code=doc["office"], kind="enrollment.received", subject_id=body["subject_id"],
                    data={"packet_id": doc["packet_id"]})
        office = s.get(SyncOfficeRow, doc["office"])
        office.last_seen_at = now
    return receipt, False


def hold_packet(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str, payload: object,
                created_at: dt.datetime, received_at: dt.datetime, receipt: dict) -> None:
    """Store a packet as received (its payload encrypted at rest), before any handler runs on it. The held
    payload is the one copy of a recording's images at central: the pipeline and the record read them here."""
    session.add(CentralPacketRow(
        packet_id=packet_id, office_code=office_code, kind=kind, subject_id=subject_id[:64],
        payload=json.dumps(payload, ensure_ascii=False), created_at=created_at, received_at=received_at,
        receipt=json.dumps(receipt, sort_keys=True)))
    session.flush()


def is_held(session: Session, *, packet_id: str) -> bool:
    """Whether central holds this packet (a handler runs after hold_packet, in the same transaction)."""
    return session.scalar(select(CentralPacketRow.packet_id).where(CentralPacketRow.packet_id == packet_id)) is not None


def held_payload(session: Session, *, packet_id: str) -> object | None:
    """A held packet's payload as received (parsed JSON), or None when central holds no such packet."""
    text = session.scalar(select(CentralPacketRow.payload).where(CentralPacketRow.packet_id == packet_id))
    return None if text is None else json.loads(text)


def packet_counts(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    rows = session.execute(select(CentralPacketRow.office_code, func.count())
                           .group_by(CentralPacketRow.office_code))
    return {code: n for code, n in rows}


def accept_audit_checkpoint(session: Session, *, doc: dict) -> None:
    """Keep an office's signed audit head. Refused: unknown office or key, bad signature, and a head
    that goes back (`audit_rewound`) or changes a head already seen (`audit_rewritten`) — the signs of
    an office database whose audit chain was rewritten; both land in `sync_rejections`."""
    from ktpel.security.checkpoints import verify_checkpoint_signature
    from ktpel.store.schema.sync import AuditCheckpointRow

    code = doc.get("node")
    keys = office_keys(session, code) if isinstance(code, str) else None
    if keys is None:
        raise env.Refused("unknown_office", "office not registered", status=403)
    if not verify_checkpoint_signature(doc, public_keys={k.kid: k.signing for k in keys}) or \
            doc.get("side") != "office":
        raise env.Refused("bad_signature", "audit checkpoint not signed by the office's key", status=403)
    seq, head_hash = doc["seq"], doc["hash"]
    last = session.scalar(select(AuditCheckpointRow).where(AuditCheckpointRow.office_code == code)
                          .order_by(AuditCheckpointRow.seq.desc(), AuditCheckpointRow.id.desc()).limit(1))
    if last is not None and seq < last.seq:
        raise env.Refused("audit_rewound", f"audit head #{seq} is behind checkpoint #{last.seq} held by central",
                          status=409)
    if last is not None and seq == last.seq:
        if head_hash != last.head_hash:
            raise env.Refused("audit_rewritten", f"audit head #{seq} differs from the one central holds",
                              status=409)
        return
    session.add(AuditCheckpointRow(office_code=code, seq=seq, head_hash=head_hash[:64], at=str(doc.get("at"))[:40],
                                   kid=str(doc["kid"])[:32], sig=str(doc["sig"])))


def office_checkpoints(session: Session, *, office_code: str) -> list[dict]:
    """The signed checkpoints central holds for an office, oldest first (to verify that office's chain)."""
    from ktpel.store.schema.sync import AuditCheckpointRow

    rows = session.scalars(select(AuditCheckpointRow).where(AuditCheckpointRow.office_code == office_code)
                           .order_by(AuditCheckpointRow.seq))
    return [{"v": 1, "type": "audit.checkpoint", "side": "office", "node": r.office_code, "seq": r.seq,
             "hash": r.head_hash, "at": r.at, "kid": r.kid, "sig": r.sig} for r in rows]
