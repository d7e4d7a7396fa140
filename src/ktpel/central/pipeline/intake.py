"""Central intake handler for kind `enrollment`: the job is queued in the intake transaction."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from ktpel.central.pipeline import ports, queue
from ktpel.central.pipeline.payload import IMAGES_HELD
from ktpel.sync.wiring import HandlerContext


def handle_enrollment(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str,
                      payload: dict, context: HandlerContext | None = None) -> None:
    """Queue the packet for the pipeline; reading it is the validate stage's job (poison → dead letter)."""
    queue.enqueue(session, packet_id=packet_id, record_id=str(subject_id)[:40], office_code=office_code,
                  payload_json=json.dumps(job_payload(session, packet_id=packet_id, payload=payload),
                                          ensure_ascii=False))
    # the office shows TERIMA (received) at once; the decision follows within seconds
    ports.publish(session, office_code=office_code, kind="enrollment.received", subject_id=str(subject_id),
                  data={"packet_id": packet_id})


def job_payload(session: Session, *, packet_id: str, payload: object) -> object:
    """What the job keeps of the packet: all of it, but images that sync holds are left where they are."""
    images = payload.get("images") if isinstance(payload, dict) else None
    if not isinstance(images, dict) or not images or not ports.packet_held(session, packet_id=packet_id):
        return payload  # nothing to leave out, or a caller that holds no packet (a bad `images` fails in validate)
    return {**payload, "images": {}, IMAGES_HELD: True}
