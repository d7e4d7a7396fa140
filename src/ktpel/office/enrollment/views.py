"""Counter recording pages (/rekam), live quality API, enrollment API and the receipt PDF."""

from __future__ import annotations

import functools

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ktpel.domain.errors import KtpelError, NotFound, ValidationFailed
from ktpel.domain.resident import BloodType, MaritalStatus, Religion
from ktpel.office.enrollment import extraction, service
from ktpel.office.enrollment.schemas import (
    ENROLLMENT_REQUEST_BODY, QUALITY_REQUEST_BODY, EnrollmentOut, QualityOut, parse_demographics_json,
)
from ktpel.office.enrollment.policy import FINGER_KINDS, FINGERS, MAX_UPLOAD_BYTES, RecordingError, UploadTooLarge
from ktpel.office.residents import service as residents
from ktpel.reference import regions as load_regions
from ktpel.security.access import OFFICE_ROLES, Role, User, requires
from ktpel.web.templating import render
from ktpel.office.enrollment.schemas import EnrollmentView
from ktpel.web.params import PageNumber

router = APIRouter()
RECORDERS = (Role.OPERATOR, Role.SUPERVISOR)
recorder = requires(*RECORDERS)
# the head of office (Kadis) may read recordings, print receipts and approve, but does not capture
officer = requires(*OFFICE_ROLES)
FORM_LIMITS = {"max_files": 16, "max_fields": 80, "max_part_size": 256 * 1024}


def _regions(request: Request):  # noqa: ANN202
    return load_regions(request.app.state.settings.resolved_shared_data())


def _api_problem(exc: KtpelError) -> JSONResponse:
    """RFC 9457 problem that also carries the Bahasa Indonesia message the counter shows."""
    from ktpel.web.problems import status_for

    status = status_for(exc)
    body = {"type": f"urn:ktpel:problem:{exc.code}", "title": exc.code, "status": status,
            "detail": exc.message_en, "code": exc.code, "message_id": exc.message_id}
    if isinstance(exc, ValidationFailed):
        body["errors"] = [e.as_dict() for e in exc.errors]
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _read(kind: str, value) -> service.Upload | None:  # noqa: ANN001
    """An uploaded part as bytes, refusing it past the size limit before reading it all."""
    if not isinstance(value, UploadFile):
        return None
    data = await value.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(kind=kind, size=value.size or len(data))
    if not data:
        return None
    return service.Upload(data=data, filename=value.filename or "", content_type=value.content_type or "")


async def _uploads(form, form_obj: service.CaptureForm) -> None:  # noqa: ANN001
    form_obj.face = await _read("face", form.get("face"))
    form_obj.signature = await _read("signature", form.get("signature"))
    for pos in FINGERS:
        up = await _read(f"finger_{pos}", form.get(f"finger_{pos}"))
        if up is not None:
            form_obj.fingers[pos] = up


async def _record(request: Request, capture: service.CaptureForm, user: User) -> service.RecordingResult:
    """Check (thread), image work (process pool, awaited), write (thread): pages never wait behind it."""
    db, settings = request.app.state.db, request.app.state.settings
    prepared = await run_in_threadpool(service.prepare_recording, db, settings=settings,
                                       regions=_regions(request), form=capture)
    if isinstance(prepared, service.RecordingResult):
        return prepared  # the same form again: its first recording
    processed = await extraction.process(capture, settings=settings)
    return await run_in_threadpool(service.store_recording, db, settings=settings, form=capture, operator=user,
                                   prepared=prepared, processed=processed, source_ip=_ip(request))


# -- pages ---------------------------------------------------------------------------------------------
@router.get("/rekam", include_in_schema=False, dependencies=[Depends(recorder)])
def find_page(request: Request, q: str = "", lahir: str | None = None, page: PageNumber = 1):  # noqa: ANN201
    """Find the resident to record: NIK, KK number, or name (+ birth date)."""
    settings = request.app.state.settings
    result, error = None, None
    if q.strip():
        try:
            birth = dt.date.fromisoformat(lahir) if lahir else None
            with request.app.state.db.unit_of_work() as s:
                result = residents.search_residents(s, text=q, regency_code=settings.office_regency,
                                                    birth_date=birth, page=page, page_size=settings.page_size)
        except ValueError:
            error = KtpelError("Tanggal lahir tidak valid (format TTTT-BB-HH).", "Birth date is not valid.")
        except KtpelError as exc:
            error = exc
    return render(request, "enrollment/find.html", {"q": q, "lahir": lahir or "", "result": result, "error": error})


def _capture_context(request: Request, nik: str, *, values: dict | None = None,
                     error: KtpelError | None = None) -> dict:
    settings = request.app.state.settings
    reg = _regions(request)
    with request.app.state.db.unit_of_work() as s:
        row = residents.get_resident(s, nik=nik, regency_code=settings.office_regency)
        status = residents.resident_status(s, resident_id=row.id)
        blocked = None
        try:
            service.check_can_record(s, resident_id=row.id)
        except service.AlreadyRecorded as exc:
            blocked = exc
    current = {k: getattr(row, k) for k in service.CORRECTABLE}
    current["birth_date"] = row.birth_date.isoformat()
    villages = sorted(reg.descendants(settings.office_regency, level=4), key=lambda r: r.name)
    return {
        "r": row, "status": status, "blocked": blocked, "error": error,
        "values": {**current, **(values or {})}, "fingers": FINGERS, "form_token": service.new_form_token(),
        "villages": villages, "religions": [x.value for x in Religion],
        "maritals": [x.value for x in MaritalStatus], "bloods": [x.value for x in BloodType],
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "draft_id": "", "kept": [], "posted": {}, "eligibility": _eligibility(row),
    }


def _today_wib() -> dt.date:
    from ktpel.domain.clock import today_wib

    return today_wib()


def _eligibility(row):  # noqa: ANN001, ANN202
    from ktpel.domain.eligibility import ktp_eligibility

    return ktp_eligibility(birth_date=row.birth_date, marital_status=getattr(row, "marital_status", None),
                           today=_today_wib())


class NotEligible(RecordingError):
    code = "not_eligible"
    http_status = 422


def _require_eligible(request: Request, nik: str, *, unknown_ok: bool = False) -> None:
    """The eligibility rule, on the server: a page that hid the form is not enough.

    unknown_ok: a NIK with no resident passes here, so the recording gives its own clearer error for it."""
    from ktpel.domain.errors import NotFound

    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        try:
            row = residents.get_resident(s, nik=nik, regency_code=settings.office_regency)
        except NotFound:
            if unknown_ok:
                return
            raise
        e = _eligibility(row)
    if not e.may_record:
        raise NotEligible(f"{e.reason_id} {e.next_id}", f"{e.reason_en} {e.next_en}", code="not_eligible")


@router.get("/rekam/{nik}", include_in_schema=False, dependencies=[Depends(recorder)])
def capture_page(nik: str, request: Request):  # noqa: ANN201
    """The capture page; a resident already recorded is flagged and no form is shown."""
    return render(request, "enrollment/capture.html", _capture_context(request, nik))


def _form_fields(form, nik: str) -> service.CaptureForm:  # noqa: ANN001
    exceptions = {}
    for pos in FINGERS:
        kind = form.get(f"missing_{pos}", "")
        if kind:
            exceptions[f"finger_{pos}"] = {"kind": kind, "reason": form.get(f"missing_reason_{pos}", "")}
    if form.get("signature_unable"):
        exceptions["signature"] = {"kind": "unable", "reason": form.get("signature_unable_reason", "")}
    corrections = {k: form.get(k) for k in service.CORRECTABLE if form.get(k) not in (None, "")}
    phones = [(form.get(f"phone_{i}", ""), form.get(f"consent_{i}") == "on") for i in (1, 2)]
    return service.CaptureForm(
        nik=nik, form_token=form.get("form_token", ""), exceptions=exceptions, corrections=corrections,
        phones=phones, override_low_quality=form.get("override_low_quality") == "on",
    )


@router.post("/rekam/{nik}", include_in_schema=False)
async def capture_submit(nik: str, request: Request, user: User = Depends(recorder)):  # noqa: ANN201
    """Record the resident; errors come back on the same page, in Bahasa Indonesia, with every capture kept."""
    from ktpel.office.enrollment import drafts

    form = await request.form(**FORM_LIMITS)
    capture = _form_fields(form, nik)
    data_dir = request.app.state.settings.data_dir
    draft_id = str(form.get("draft_id") or "")
    try:
        await run_in_threadpool(_require_eligible, request, nik)
        await _uploads(form, capture)
        _typed_signature(form, capture)
        drafts.fill(data_dir, draft_id=draft_id, nik=nik, operator=user.username, form=capture)
        result = await _record(request, capture, user)
    except (RecordingError, ValidationFailed, service.AlreadyRecorded) as exc:
        from ktpel.web.problems import status_for

        # keep what was captured (face, fingers, signature) so the operator fixes only what was wrong;
        # a typed signature comes back as its text, so the record still says it was typed
        if capture.signature_typed:
            capture.signature = None
        draft_id = await run_in_threadpool(drafts.save, data_dir, draft_id=draft_id, nik=nik,
                                           operator=user.username, form=capture)
        values = {k: form.get(k) for k in service.CORRECTABLE if form.get(k)}
        ctx = await run_in_threadpool(_capture_context, request, nik, values=values, error=exc)
        ctx.update(draft_id=draft_id, kept=drafts.kept(data_dir, draft_id=draft_id, nik=nik, operator=user.username),
                   posted=_posted(form))
        return render(request, "enrollment/capture.html", ctx, status_code=status_for(exc))
    drafts.discard(data_dir, draft_id=draft_id)
    return RedirectResponse(f"/rekam/{result.enrollment_id}/selesai", status_code=303)


def _typed_signature(form, capture: service.CaptureForm) -> None:  # noqa: ANN001
    """A name typed in place of the pad becomes the signature image, marked as typed in the record."""
    from ktpel.office.enrollment.typed_signature import render_png

    typed = str(form.get("signature_typed") or "").strip()
    if not typed:
        return
    if capture.signature is not None:
        raise RecordingError("Tanda tangan digambar/diunggah sekaligus diketik: hapus salah satu.",
                             "The signature is both drawn/uploaded and typed: clear one.", code="exception_conflict")
    capture.signature = service.Upload(data=render_png(typed), filename="tanda-tangan-ketik.png",
                                       content_type="image/png")
    capture.signature_typed = True


def _posted(form) -> dict:  # noqa: ANN001
    """The plain fields as submitted (phones, consents, exceptions), to fill the form again."""
    keys = ["phone_1", "phone_2", "consent_1", "consent_2", "signature_unable", "signature_unable_reason", "signature_typed",
            "override_low_quality", *[f"missing_{p}" for p in FINGERS], *[f"missing_reason_{p}" for p in FINGERS]]
    return {k: str(form.get(k) or "") for k in keys}


@router.get("/rekam/{enrollment_id}/selesai", include_in_schema=False, dependencies=[Depends(officer)])
def done_page(enrollment_id: str, request: Request):  # noqa: ANN201
    """What was recorded, the receipt, and the supervisor's approval when policy holds it."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        view = service.get_enrollment(s, enrollment_id=enrollment_id, office_code=settings.office_regency)
    return render(request, "enrollment/done.html", {"e": view, "fingers": FINGERS})


@router.post("/rekam/{enrollment_id}/persetujuan", include_in_schema=False)
async def approve_submit(enrollment_id: str, request: Request, user: User = Depends(officer)):  # noqa: ANN201
    """A supervisor approves at the counter: signed in as supervisor, or typing their own credentials."""
    form = await request.form(max_files=0, max_fields=10)
    supervisor = user
    username = (form.get("supervisor_username") or "").strip()
    if username:
        supervisor = await run_in_threadpool(_verify_credentials, request, username,
                                             form.get("supervisor_password") or "")
    try:
        await run_in_threadpool(service.approve_enrollment, request.app.state.db, enrollment_id=enrollment_id,
                                supervisor=supervisor, source_ip=_ip(request))
    except KtpelError as exc:
        from ktpel.web.problems import status_for

        settings = request.app.state.settings
        with request.app.state.db.unit_of_work() as s:
            view = service.get_enrollment(s, enrollment_id=enrollment_id, office_code=settings.office_regency)
        return render(request, "enrollment/done.html", {"e": view, "fingers": FINGERS, "error": exc},
                      status_code=status_for(exc))
    return RedirectResponse(f"/rekam/{enrollment_id}/selesai", status_code=303)


def _verify_credentials(request: Request, username: str, password: str) -> User:
    """The supervisor's own username and password, checked (with lockout and audit) by security."""
    from ktpel.security.service import AuthError, authenticate

    failure: AuthError | None = None
    # the failed attempt must be committed (lockout counts it), so the error is raised after the commit
    with request.app.state.db.unit_of_work() as s:
        try:
            found = authenticate(s, username=username, password=password, side=request.app.state.side,
                                 settings=request.app.state.settings, source_ip=_ip(request))
        except AuthError as exc:
            failure = exc
    if failure is not None:
        raise service.ApprovalRefused(f"Persetujuan supervisor ditolak: {failure.message_id}",
                                      f"Supervisor approval refused: {failure.message_en}",
                                      code="approval_bad_credentials")
    return found


@router.get("/rekam/{enrollment_id}/tanda-terima.pdf", include_in_schema=False, dependencies=[Depends(officer)])
def receipt(enrollment_id: str, request: Request) -> Response:
    """The receipt (tanda terima) to print at the counter."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        pdf = service.receipt_pdf(s, enrollment_id=enrollment_id, office_code=settings.office_regency,
                                  office_name=settings.office_name)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="tanda-terima-{enrollment_id}.pdf"'})


@router.get("/rekam/{enrollment_id}/foto.jpg", include_in_schema=False, dependencies=[Depends(officer)])
def face_photo(enrollment_id: str, request: Request) -> Response:
    """The face photo of a recording as a JPEG any browser shows (uploads may be PGM or TIFF): for the
    officer comparing faces at pickup and in a data-ganda case."""
    import io

    from PIL import Image

    with request.app.state.db.unit_of_work() as s:
        images = service.enrolled_images(s, enrollment_id=enrollment_id)
    if "face" not in images:
        raise NotFound("Foto wajah tidak ada.", "No face photo.")
    img = Image.open(io.BytesIO(images["face"])).convert("RGB")
    img.thumbnail((480, 480))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=88)
    return Response(out.getvalue(), media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


# -- API -----------------------------------------------------------------------------------------------
@router.post("/api/v1/quality/{kind}", tags=["enrollment"], dependencies=[Depends(recorder)],
             openapi_extra={"requestBody": QUALITY_REQUEST_BODY}, response_model=QualityOut,
             response_model_exclude_none=True)
async def quality(kind: str, request: Request):  # noqa: ANN201
    """Live quality of a face photo or one fingerprint: score 0-100, ok, reasons, re-capture prompt.

    `finger_1` … `finger_10` name the position, which the thumbs' minutiae rule needs (recording policy)."""
    if kind not in ("face", "finger", *FINGER_KINDS):
        raise NotFound("Jenis kualitas tidak dikenal.", "Quality kind is face, finger or finger_1 … finger_10.")
    form = await request.form(max_files=1, max_fields=2)
    try:
        upload = await _read(kind, form.get("image"))
        if upload is None:
            raise RecordingError("Kirim gambar pada kolom 'image'.", "Send the image in the 'image' field.",
                                 code="image_missing")
        return await extraction.quality(kind, upload.data, settings=request.app.state.settings)
    except KtpelError as exc:
        return _api_problem(exc)


@router.post("/api/v1/scanner/fingers/{position}", tags=["enrollment"], dependencies=[Depends(recorder)],
             response_class=Response,
             responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                              "description": "The scanned image"}, 504: {"description": "No finger scanned in time"}})
async def scan_finger(position: int, request: Request, timeout: float = Query(1.0, gt=0, le=30)) -> Response:
    """One finger from the counter's scanner (folder adapter at <data_dir>/scanner): the image bytes.

    Waits at most `timeout` seconds (504 if nothing came); the page polls, so no request is held long.
    """
    from ktpel.office.enrollment.scanner import FolderScanner

    if not 1 <= position <= 10:
        return _api_problem(RecordingError("Posisi jari harus 1–10.", "Finger position is 1..10.",
                                           code="finger_position_invalid"))
    scanner = FolderScanner(request.app.state.settings.data_dir / "scanner")
    try:
        data = await run_in_threadpool(scanner.capture, finger_position=position, timeout_s=timeout)
    except KtpelError as exc:
        return _api_problem(exc)
    return Response(data, media_type="application/octet-stream")


@router.post("/api/v1/enrollments", tags=["enrollment"], status_code=201,
             openapi_extra={"requestBody": ENROLLMENT_REQUEST_BODY},
             responses={201: {"model": EnrollmentOut, "description": "Recorded"},
                        200: {"model": EnrollmentOut, "description": "The same form again: its first recording"}})
async def create_enrollment(request: Request, user: User = Depends(recorder)) -> JSONResponse:
    """Record a resident without a browser: multipart `demographics` JSON + face, finger_1…10, signature."""
    form = await request.form(**FORM_LIMITS)
    try:
        capture = service.capture_from_json(parse_demographics_json(form.get("demographics")))
        # the same rule as the counter's page
        await run_in_threadpool(functools.partial(_require_eligible, unknown_ok=True), request, capture.nik)
        await _uploads(form, capture)
        result = await _record(request, capture, user)
    except KtpelError as exc:
        return _api_problem(exc)
    body = {"enrollment_id": result.enrollment_id, "state": result.state, "quality": result.quality,
            "receipt_number": result.receipt_number, "approval_reasons": result.approval_reasons,
            "created": result.created}
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.get("/api/v1/enrollments/{enrollment_id}", tags=["enrollment"], dependencies=[Depends(officer)],
            response_model=EnrollmentView)
def read_enrollment(enrollment_id: str, request: Request) -> dict:
    """An enrollment of this office: state (with the office code), receipt number, quality, exceptions."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        return service.get_enrollment(s, enrollment_id=enrollment_id, office_code=settings.office_regency).as_dict()
