"""Office pages for data-ganda cases: the resident chooses the record that stays; officers report one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from ktpel.office.duplicates import service as office
from ktpel.domain.errors import KtpelError
from ktpel.security.access import OFFICE_ROLES, User, requires
from ktpel.web.responses import redirect
from ktpel.web.templating import render

router = APIRouter()
officers = requires(*OFFICE_ROLES)


def _page(request: Request, *, error: KtpelError | None = None, done: str | None = None, status: int = 200):  # noqa: ANN202
    with request.app.state.db.unit_of_work() as s:
        cases = office.list_cases(s)
        photos = _local_photos(s, [r for c in cases for r in c["records"]])
    from ktpel.web.problems import status_for

    return render(request, "central/office_cases.html", {"cases": cases, "error": error, "done": done,
                                                         "photos": photos},
                  status_code=status_for(error) if error else status)


@router.get("/data-ganda", include_in_schema=False, dependencies=[Depends(officers)])
def cases_page(request: Request, done: str | None = None):  # noqa: ANN201
    return _page(request, done=done)


@router.post("/data-ganda/{case_id}/pilih", include_in_schema=False)
def choose(case_id: str, request: Request, keep: str = Form(...), kk_number: str = Form(""),  # noqa: ANN201
           konfirmasi: str = Form(""), user: User = Depends(officers)):
    """Revoking a NIK cannot be undone: the first submit shows both records and what will happen; only the
    confirmed second submit sends the choice."""
    try:
        with request.app.state.db.unit_of_work() as s:
            if konfirmasi != "1":
                _, kept, revoked = office.check_choice(s, case_id=case_id, keep_enrollment_id=keep,
                                                       kk_number=kk_number)
                return render(request, "central/office_case_confirm.html", {
                    "case_id": case_id, "kept": kept, "revoked": revoked, "kk_number": kk_number,
                    "photos": _local_photos(s, [kept, revoked])})
            office.choose_record(s, case_id=case_id, keep_enrollment_id=keep, kk_number=kk_number,
                                 chosen_by=user.username, source_ip=request.client.host if request.client else None)
    except KtpelError as exc:
        return _page(request, error=exc)
    return redirect(f"/data-ganda?done={case_id}")


def _local_photos(session, records: list[dict]) -> set[str]:  # noqa: ANN001
    """Enrollment ids whose face photo this office holds (its own recordings)."""
    from sqlalchemy import select

    from ktpel.store.schema.enrollment import EnrollmentCaptureRow

    ids = [r["enrollment_id"] for r in records]
    return set(session.scalars(select(EnrollmentCaptureRow.enrollment_id).where(
        EnrollmentCaptureRow.enrollment_id.in_(ids), EnrollmentCaptureRow.kind == "face")))


@router.post("/data-ganda/lapor", include_in_schema=False)
def report(request: Request, nik_a: str = Form(""), nik_b: str = Form(""), reason: str = Form(""),  # noqa: ANN201
           user: User = Depends(officers)):
    try:
        with request.app.state.db.unit_of_work() as s:
            office.report_duplicate(s, nik_a=nik_a, nik_b=nik_b, reason=reason, reported_by=user.username,
                                    source_ip=request.client.host if request.client else None)
    except KtpelError as exc:
        return _page(request, error=exc)
    return redirect("/data-ganda?done=lapor")
