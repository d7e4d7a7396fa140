"""Central list of data-ganda cases (adjudicators and the data-center operator)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from ktpel.security.access import Role, requires
from ktpel.store.schema.central import DuplicateCaseRow, NationalRecordRow
from ktpel.web.templating import render
from ktpel.central.resolution.schemas import DuplicateCases

router = APIRouter()
readers = requires(Role.ADJUDICATOR, Role.CENTER_ADMIN)


PAGE_SIZE = 25


def _cases(request: Request, *, offset: int = 0, limit: int = 500) -> list[dict]:
    from ktpel.central.resolution.service import summary

    with request.app.state.db.unit_of_work() as s:
        rows = s.scalars(select(DuplicateCaseRow).order_by(DuplicateCaseRow.opened_at.desc(), DuplicateCaseRow.id)
                         .offset(offset).limit(limit)).all()
        return [{"id": c.id, "status": c.status, "source": c.source, "opened_by": c.opened_by,
                 "opened_at": c.opened_at.isoformat(), "kept": c.kept_record_id, "revoked": c.revoked_record_id,
                 "resolved_at_office": c.resolved_at_office, "closed_at": c.closed_at.isoformat() if c.closed_at else None,
                 "records": [summary(s.get(NationalRecordRow, c.record_a)), summary(s.get(NationalRecordRow, c.record_b))]}
                for c in rows]


@router.get("/kasus-ganda", include_in_schema=False, dependencies=[Depends(readers)])
def cases_page(request: Request, halaman: int = Query(1, ge=1)):  # noqa: ANN201
    """One page of cases, newest first (the whole list is thousands of rows)."""
    with request.app.state.db.unit_of_work() as s:
        total = s.scalar(select(func.count()).select_from(DuplicateCaseRow)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(halaman, pages)
    cases = _cases(request, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(request, "central/cases.html", {"cases": cases, "page": page, "pages": pages, "total": total})


@router.get("/api/v1/duplicate-cases", tags=["adjudication"], dependencies=[Depends(readers)],
            response_model=DuplicateCases, response_model_exclude_unset=True)
def api_cases(request: Request) -> dict:
    """Data-ganda cases, newest first, with both records and how each was resolved."""
    return {"items": _cases(request)}
