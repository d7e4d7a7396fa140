"""Central list of data-ganda cases (adjudicators and the data-center operator)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from ktpel.security.access import Role, requires
from ktpel.store.schema.central import DuplicateCaseRow, NationalRecordRow
from ktpel.web.templating import render

router = APIRouter()
readers = requires(Role.ADJUDICATOR, Role.CENTER_ADMIN)


def _cases(request: Request) -> list[dict]:
    from ktpel.central.resolution.service import summary

    with request.app.state.db.unit_of_work() as s:
        rows = s.scalars(select(DuplicateCaseRow).order_by(DuplicateCaseRow.opened_at.desc()).limit(500)).all()
        return [{"id": c.id, "status": c.status, "source": c.source, "opened_by": c.opened_by,
                 "opened_at": c.opened_at.isoformat(), "kept": c.kept_record_id, "revoked": c.revoked_record_id,
                 "resolved_at_office": c.resolved_at_office, "closed_at": c.closed_at.isoformat() if c.closed_at else None,
                 "records": [summary(s.get(NationalRecordRow, c.record_a)), summary(s.get(NationalRecordRow, c.record_b))]}
                for c in rows]


@router.get("/kasus-ganda", include_in_schema=False, dependencies=[Depends(readers)])
def cases_page(request: Request):  # noqa: ANN201
    return render(request, "central/cases.html", {"cases": _cases(request)})


@router.get("/api/v1/duplicate-cases", tags=["adjudication"], dependencies=[Depends(readers)])
def api_cases(request: Request) -> dict:
    """Data-ganda cases, newest first, with both records and how each was resolved."""
    return {"items": _cases(request)}
