"""Mobile kit mode: a laptop records all day on its own SQLite, then pushes its outbox into its home office.

Kit side (`push_to_home`): every QUEUED packet of the kit's outbox goes to the home office
(`POST /api/v1/kit/packets`, `X-Kit-Token`); a packet the home acknowledged is marked SENT (and its
enrollment SFE, with the home's packet id as receipt). A kit that pushes twice (a crash before marking)
sends the same packets again; the home answers with what it already holds.

Home side (`receive_kit_packet`): once per kit packet id (`kit_receipts`), in one transaction: an
`enrollment` becomes this office's enrollment (same id, receipt number, captures and quality, operator
`name@kit`) and is queued to central with the same payload plus `origin` (kit, kit packet id); any other
kind is queued as is, with `origin`. The home's own sync agent forwards to central; central's events come
back to the home office, where the enrollment now lives.
"""

from __future__ import annotations

import datetime as dt
import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.enrollment import Enrollment, EnrollmentState
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.security.audit import record_audit
from ktpel.store.db import Database
from ktpel.store.schema.core import DomainEventRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.kit import KitReceiptRow


class KitRefused(KtpelError):
    code = "kit_refused"
    http_status = 403


def check_token(settings: Settings, token: str | None) -> None:
    """The home accepts kits only with the shared token (constant-time compare); none configured: no kits."""
    if not settings.kit_token or not token or not hmac.compare_digest(settings.kit_token.encode(), token.encode()):
        raise KitRefused("Kit keliling tidak dikenal kantor ini.", "This office does not know that kit.")


def _import_enrollment(session: Session, *, settings: Settings, kit_id: str, payload: dict) -> None:
    from ktpel.office.enrollment.packet import decode_binary
    from ktpel.store.schema.enrollment import EnrollmentCaptureRow

    nik = str(payload.get("resident", {}).get("nik", ""))
    resident = session.scalar(select(ResidentRow).where(ResidentRow.nik == nik,
                                                        ResidentRow.regency_code == settings.office_regency))
    if resident is None:
        raise NotFound(f"Penduduk {nik} dari kit tidak ada di kantor ini.", f"Resident {nik} from the kit is not here.")
    images, templates = decode_binary(payload, section="images"), decode_binary(payload, section="templates")
    captured_at = dt.datetime.fromisoformat(payload["captured_at"])
    row = EnrollmentRow(id=payload["enrollment_id"], resident_id=resident.id, office_code=settings.office_regency,
                        state=EnrollmentState.CAPTURED.value, receipt_number=payload["receipt_number"],
                        operator=f"{payload.get('operator') or '-'}@{kit_id}"[:60], approved_by=payload.get("approved_by"),
                        quality=payload.get("quality") or {}, exceptions=payload.get("exceptions") or {},
                        created_at=captured_at)
    session.add(row)
    session.flush()
    types = payload.get("image_types") or {}
    for kind in sorted(set(images) | set(templates)):
        quality = (payload.get("quality") or {}).get(kind) or {}
        session.add(EnrollmentCaptureRow(enrollment_id=row.id, kind=kind, content_type=types.get(kind, ""),
                                         image=images.get(kind, b""), template=templates.get(kind),
                                         quality_score=quality.get("score"), quality_ok=bool(quality.get("ok"))))


def receive_kit_packet(session: Session, *, settings: Settings, kit_id: str, kit_packet_id: str,
                       content: dict) -> str:
    """Take one kit packet in, once; returns the home packet id that carries it on to central."""
    from ktpel.office.sync.outbox import enqueue_packet

    done = session.get(KitReceiptRow, kit_packet_id)
    if done is not None:
        return done.home_packet_id
    kind, subject_id, payload = str(content["kind"]), str(content["subject_id"]), dict(content["payload"])
    origin = {"kit": kit_id, "kit_packet_id": kit_packet_id, "created_at": content.get("created_at")}
    if kind == "enrollment":
        if session.get(EnrollmentRow, subject_id) is not None:
            raise KitRefused("Perekaman ini sudah ada di kantor.", "This enrollment already exists here.")
        _import_enrollment(session, settings=settings, kit_id=kit_id, payload=payload)
    packet_id = enqueue_packet(session, kind=kind, subject_id=subject_id, payload={**payload, "origin": origin})
    if kind == "enrollment":
        row = session.get(EnrollmentRow, subject_id)
        machine = Enrollment(id=row.id, state=EnrollmentState(row.state))
        machine.queue(packet_id=packet_id)
        row.state = machine.state.value
        for e in machine.events:
            session.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data={**e.data, "origin": kit_id}, at=e.at))
    session.add(KitReceiptRow(kit_packet_id=kit_packet_id, kit_id=kit_id, kind=kind, subject_id=subject_id,
                              home_packet_id=packet_id, received_at=utcnow()))
    record_audit(session, actor=f"kit:{kit_id}", action="kit.received", subject=f"{kind}:{subject_id}",
                 after={"kit_packet": kit_packet_id, "home_packet": packet_id})
    session.flush()
    return packet_id


def push_to_home(db: Database, *, settings: Settings, batch: int = 20, timeout: float = 30.0) -> dict:
    """Kit side: send every queued packet to the home office; mark each one the home acknowledged."""
    import httpx

    from ktpel.store.schema.sync import OutboxRow
    from ktpel.office.sync.outbox import QUEUED, SENT, content_of

    sent, refused = 0, []
    url = settings.kit_home_url.rstrip("/") + "/api/v1/kit/packets"
    with httpx.Client(timeout=timeout) as client:
        while True:
            with db.unit_of_work() as s:
                rows = list(s.scalars(select(OutboxRow).where(OutboxRow.state == QUEUED)
                                      .order_by(OutboxRow.seq).limit(batch)))
                body = {"kit_id": settings.kit_id,
                        "packets": [{"packet_id": r.packet_id, "content": content_of(r)} for r in rows]}
            if not rows:
                break
            resp = client.post(url, json=body, headers={"X-Kit-Token": settings.kit_token})
            if resp.status_code != 200:
                raise KitRefused(f"Kantor induk menolak ({resp.status_code}).",
                                 f"The home office refused the kit ({resp.status_code}): {resp.text[:200]}")
            answers = {a["packet_id"]: a for a in resp.json()["packets"]}
            with db.unit_of_work() as s:
                for r in s.scalars(select(OutboxRow).where(OutboxRow.packet_id.in_(list(answers)))):
                    a = answers[r.packet_id]
                    if not a.get("home_packet_id"):
                        refused.append(a)
                        continue
                    r.state = SENT
                    if r.kind == "enrollment":
                        _mark_sent(s, enrollment_id=r.subject_id, receipt=a["home_packet_id"])
                    sent += 1
            if len(answers) and all(not a.get("home_packet_id") for a in answers.values()):
                break  # everything left is refused: stop instead of resending it forever
    return {"sent": sent, "refused": refused}


def _mark_sent(session: Session, *, enrollment_id: str, receipt: str) -> None:
    row = session.get(EnrollmentRow, enrollment_id)
    if row is None or row.state != EnrollmentState.QUEUED.value:
        return
    machine = Enrollment(id=row.id, state=EnrollmentState(row.state))
    machine.mark_sent(receipt_id=receipt)
    row.state = machine.state.value
    for e in machine.events:
        session.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data=e.data, at=e.at))
