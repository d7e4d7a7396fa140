"""Central side of `ikd.activated` / `ikd.revoked`: one row per activation, in the packet's transaction.

Keyed by the office's activation id: a packet applied twice, or resent under a new packet id, counts once.
A payload the shared model cannot read is refused (`invalid_content`): the office marks the packet refused,
central logs the rejection, and nothing is stored.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.domain.ikd import IkdState
from ktpel.packets.ikd import KINDS, VERSIONS, IkdReportV1
from ktpel.store.schema.ikd import CentralIkdRow
from ktpel.sync import envelope as env


def read_report(payload: dict) -> IkdReportV1:
    """The payload through the shared model of its version; refused with the first problem otherwise."""
    model = VERSIONS.get(payload.get("version", 1) if isinstance(payload, dict) else None)
    if model is None:
        raise env.Refused("unsupported_version", f"IKD report version {payload.get('version')!r} is not read here")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        raise env.Refused("invalid_content", f"IKD report: {where}: {err['msg']}") from None


def record_ikd_report(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str,
                      payload: dict, context: object = None) -> None:
    """Intake handler: an office activated (or revoked) a digital ID."""
    report = read_report(payload)
    if report.office_code != office_code or report.activation_id != subject_id:
        raise env.Refused("invalid_content", "IKD report names another office or activation than its packet")
    revoked = kind == "ikd.revoked"
    row = session.get(CentralIkdRow, report.activation_id)
    if row is None:
        row = CentralIkdRow(activation_id=report.activation_id, office_code=office_code, nik=report.nik,
                            state=IkdState.ACTIVE.value, saves_blank=report.saves_blank, officer=report.officer,
                            activated_at=report.activated, last_packet_id=packet_id, updated_at=utcnow())
        session.add(row)
    elif row.state == IkdState.REVOKED.value or not revoked:
        return  # already counted; a late activation never undoes a revocation
    if revoked:
        row.state, row.revoked_at = IkdState.REVOKED.value, report.revoked or utcnow()
        row.last_packet_id, row.updated_at = packet_id, utcnow()
    session.flush()


def backfill(session: Session) -> int:
    """Register the IKD packets central kept before this register existed (they had no handler); returns the rows added."""
    from sqlalchemy import select

    from ktpel.store.schema.sync import CentralPacketRow

    added = 0
    for packet in session.scalars(select(CentralPacketRow).where(CentralPacketRow.kind.in_(KINDS))
                                  .order_by(CentralPacketRow.received_at)):
        before = session.get(CentralIkdRow, packet.subject_id)
        try:
            record_ikd_report(session, packet_id=packet.packet_id, office_code=packet.office_code, kind=packet.kind,
                              subject_id=packet.subject_id, payload=json.loads(packet.payload))
        except (env.Refused, ValueError):
            continue  # what central could not read then, it cannot count now
        added += before is None and session.get(CentralIkdRow, packet.subject_id) is not None
    return added
