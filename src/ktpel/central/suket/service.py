"""Central side of `suket.report`: keep one current row per Suket serial, in the packet's transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.domain.suket import SuketState
from ktpel.store.schema.suket import CentralSuketRow

# a late packet must not undo a later state: closed states win over ACTIVE
_RANK = {SuketState.ACTIVE.value: 0, SuketState.ENDED.value: 1, SuketState.REVOKED.value: 1}


def record_suket_report(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str,
                        payload: dict, context: object = None) -> None:
    """Intake handler: the office issued, renewed, revoked or ended a Suket."""
    row = session.get(CentralSuketRow, subject_id)
    state = str(payload.get("state", SuketState.ACTIVE.value))
    valid_until = dt.date.fromisoformat(str(payload["valid_until"]))
    if row is None:
        session.add(CentralSuketRow(serial=subject_id, office_code=office_code, nik=str(payload["nik"]),
                                    state=state, status_code=str(payload.get("status_code", "")),
                                    valid_until=valid_until, officer=str(payload.get("officer", "")),
                                    last_action=str(payload.get("action", "")), last_packet_id=packet_id,
                                    updated_at=utcnow()))
        return
    if _RANK.get(state, 0) < _RANK.get(row.state, 0):
        return
    row.state, row.status_code = state, str(payload.get("status_code", row.status_code))
    row.valid_until = max(row.valid_until, valid_until) if state == SuketState.ACTIVE.value else valid_until
    row.officer, row.last_action, row.last_packet_id = str(payload.get("officer", "")), str(payload.get("action", "")), packet_id
    row.updated_at = utcnow()


def national_counts(session: Session, *, today: dt.date) -> dict[str, dict[str, int]]:
    """Per office: Suket active (valid), expired, ended by a printed card, revoked."""
    out: dict[str, dict[str, int]] = {}
    for office, state, until, n in session.execute(
            select(CentralSuketRow.office_code, CentralSuketRow.state, CentralSuketRow.valid_until, func.count())
            .group_by(CentralSuketRow.office_code, CentralSuketRow.state, CentralSuketRow.valid_until)):
        key = "EXPIRED" if state == SuketState.ACTIVE.value and until < today else state
        counts = out.setdefault(office, {SuketState.ACTIVE.value: 0, "EXPIRED": 0, SuketState.ENDED.value: 0,
                                          SuketState.REVOKED.value: 0})
        counts[key] = counts.get(key, 0) + int(n)
    return out
