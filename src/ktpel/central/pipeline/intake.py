"""Central intake handler for kind `enrollment`: the job is queued in the intake transaction."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from ktpel.central.pipeline import ports, queue
from ktpel.sync.wiring import HandlerContext


def handle_enrollment(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str,
                      payload: dict, context: HandlerContext | None = None) -> None:
    """Queue the packet for the pipeline; reading it is the validate stage's job (poison → dead letter)."""
    queue.enqueue(session, packet_id=packet_id, record_id=str(subject_id)[:40], office_code=office_code,
                  payload_json=json.dumps(payload, ensure_ascii=False))
    # the office shows TERIMA (received) at once; the decision follows within seconds
    ports.publish(session, office_code=office_code, kind="enrollment.received", subject_id=str(subject_id),
                  data={"packet_id": packet_id})
