"""Office pages for data-ganda cases: the resident chooses the record that stays; officers report one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from ktpel.office.duplicates import photos as office_photos
from ktpel.office.duplicates import service as office
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.security.access import OFFICE_ROLES, User, requires
from ktpel.web.responses import redirect
from ktpel.web.templating import render

router = APIRouter()
officers = requires(*OFFICE_ROLES)


def _photos(request: Request, cases: list[dict]) -> dict[str, office_photos.PhotoStatus]:
    """Each record's photo: ours from the recording, the other office's from central (cached while open)."""
    with request.app.state.db.unit_of_work() as s:
        local = office_photos.local_photos(s, [r["enrollment_id"] for c in cases for r in c["records"]])
    return office_photos.photo_statuses(settings=request.app.state.settings, db=request.app.state.db,
                                        cache=office_photos.cache_of(request.app.state), cases=cases, local=local,
                                        client=getattr(request.app.state, "central_client", None))


def _page(request: Request, *, error: KtpelError | None = None, done: str | None = None, status: int = 200):  # noqa: ANN202
    with request.app.state.db.unit_of_work() as s:
        cases = office.list_cases(s)
    from ktpel.web.problems import status_for

    return render(request, "central/office_cases.html", {"cases": cases, "error": error, "done": done,
                                                         "photos": _photos(request, cases)},
                  status_code=status_for(error) if error else status)


@router.get("/data-ganda", include_in_schema=False, dependencies=[Depends(officers)])
def cases_page(request: Request, done: str | None = None):  # noqa: ANN201
    return _page(request, done=done)


@router.get("/data-ganda/{case_id}/foto/{enrollment_id}", include_in_schema=False, dependencies=[Depends(officers)])
def remote_photo(case_id: str, enrollment_id: str, request: Request) -> Response:
    """The other office's record photo, from this office's short-lived cache (fetched from central on a miss)."""
    with request.app.state.db.unit_of_work() as s:
        case = office.case_view(office.get_case(s, case_id=case_id))
    if case["status"] != "open" or enrollment_id not in {r["enrollment_id"] for r in case["records"]}:
        raise NotFound("Foto tidak ada.", "No such photo.")
    cache = office_photos.cache_of(request.app.state)
    photo = cache.get(case_id, enrollment_id)
    if photo is None:
        _photos(request, [case])
        photo = cache.get(case_id, enrollment_id)
    if photo is None:
        raise office_photos.PhotoUnavailable("Foto belum dapat diambil dari pusat.", "The photo cannot be fetched.")
    return Response(photo.image, media_type=photo.media_type, headers={"Cache-Control": "private, no-store"})


@router.post("/data-ganda/{case_id}/pilih", include_in_schema=False)
def choose(case_id: str, request: Request, keep: str = Form(...), kk_number: str = Form(""),  # noqa: ANN201
           konfirmasi: str = Form(""), user: User = Depends(officers)):
    """Revoking a NIK cannot be undone: the first submit shows both records, with both faces, and what will
    happen; only the confirmed second submit sends the choice, and only while both faces can be shown."""
    try:
        with request.app.state.db.unit_of_work() as s:
            row, kept, revoked = office.check_choice(s, case_id=case_id, keep_enrollment_id=keep,
                                                     kk_number=kk_number)
            case = office.case_view(row)
        photos = _photos(request, [case])
        if konfirmasi != "1":
            unavailable = None
            try:
                office_photos.require_both_shown(photos, kept=kept, revoked=revoked)
            except office_photos.PhotoUnavailable as exc:
                unavailable = exc
            return render(request, "central/office_case_confirm.html", {
                "case_id": case_id, "kept": kept, "revoked": revoked, "kk_number": kk_number,
                "photos": photos, "unavailable": unavailable})
        office_photos.require_both_shown(photos, kept=kept, revoked=revoked)
        with request.app.state.db.unit_of_work() as s:
            office.choose_record(s, case_id=case_id, keep_enrollment_id=keep, kk_number=kk_number,
                                 chosen_by=user.username, source_ip=request.client.host if request.client else None)
    except KtpelError as exc:
        return _page(request, error=exc)
    office_photos.cache_of(request.app.state).forget_case(case_id)  # decided: the photos are not needed
    return redirect(f"/data-ganda?done={case_id}")


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
