"""Central list of data-ganda cases (adjudicators and the data-center operator)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from ktpel.central.resolution.schemas import SealedRecordPhoto
from ktpel.security.access import Role, machine, requires
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


PHOTO_REPLY = "duplicate.record_photo"


@router.get("/api/v1/sync/duplicate-cases/{case_id}/records/{enrollment_id}/face", tags=["sync"],
            dependencies=[Depends(machine)], response_model=SealedRecordPhoto)
def record_photo(case_id: str, enrollment_id: str, request: Request) -> dict:
    """The face photo and KK of one record of an open data-ganda case, for an office holding one of its records.

    Signed office request (like the events feed); the answer is sealed to that office. Each answer is audited."""
    from ktpel.central.resolution.service import record_photo_for_office
    from ktpel.security.audit import record_audit_now
    from ktpel.central.sync import intake as central_intake
    from ktpel.sync import envelope as env
    from ktpel.keys.keyring import load_keyring

    db, remote = request.app.state.db, (request.client.host if request.client else "")
    code = ""
    try:
        with db.unit_of_work() as s:
            code = env.verify_request(request.headers, method="GET", path=request.url.path,
                                      office_keys_of=lambda c: central_intake.office_keys(s, c))
            body = record_photo_for_office(s, case_id=case_id, enrollment_id=enrollment_id, office_code=code,
                                           source_ip=remote or None)
            office = central_intake.office_keys(s, code)[-1]
    except env.Refused as exc:
        central_intake.log_rejection(db, reason=exc.reason, detail=exc.detail, remote=remote,
                                     office_code=request.headers.get("x-ktpel-office", ""))
        raise
    except Exception as exc:
        if code:  # a known office asked for what it may not see, or for nothing: on the record too
            record_audit_now(db, actor=f"office:{code}", action="duplicate_case.photo_refused", subject=case_id,
                             after={"record": enrollment_id, "error": getattr(exc, "code", type(exc).__name__)},
                             source_ip=remote or None)
        raise
    ring = load_keyring(request.app.state.settings, side="central")
    return env.seal_for_office(doc_type=PHOTO_REPLY, bound={"office": code, "case_id": case_id,
                                                            "enrollment_id": enrollment_id},
                               body=body, central=ring.active, office=office)
