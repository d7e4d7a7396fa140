"""Central side of `card.printed`: record each blank serial an office printed (once, however often sent)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ktpel.store.schema.printing import PrintedReportRow
from ktpel.sync.wiring import HandlerContext


def record_card_printed(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str,
                        payload: dict, context: HandlerContext | None = None) -> None:
    """Intake handler: store the printed serial; a resend of the same report changes nothing."""
    serial = str(payload["blank_serial"])
    if session.get(PrintedReportRow, serial) is not None:
        return
    session.add(PrintedReportRow(
        serial=serial, office_code=office_code, card_id=str(payload.get("card_id", subject_id)),
        packet_id=packet_id, printed_at=dt.datetime.fromisoformat(payload["printed_at"]),
        offline=bool(payload.get("offline", False)),
    ))
    session.flush()
