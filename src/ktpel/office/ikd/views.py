"""IKD activation: the officer's pages (/ikd) and the resident's device pages (/ikd/perangkat/…, no login)."""

from __future__ import annotations

import io

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from ktpel.domain.errors import KtpelError
from ktpel.domain.ikd import IkdState
from ktpel.office.ikd import service
from ktpel.security.access import OFFICE_ROLES, Role, User, public, requires
from ktpel.web.problems import status_for
from ktpel.web.templating import render

router = APIRouter()
officers = requires(*OFFICE_ROLES)
counter = requires(Role.OPERATOR, Role.SUPERVISOR, Role.HEAD)
managers = requires(Role.SUPERVISOR, Role.HEAD)
MAX_SELFIE_BYTES = 8 * 1024 * 1024


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _start_page(request: Request, *, error: KtpelError | None = None, status: int = 200, form: dict | None = None):  # noqa: ANN202
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        rows = service.recent(s, limit=30)
        counts = service.counts(s, office_code=settings.office_regency)
    return render(request, "ikd/start.html", {
        "rows": rows, "counts": counts, "error": error,
        "form": form or {"nik": request.query_params.get("nik", ""), "phone": "", "email": ""},
    }, status_code=status)


@router.get("/ikd", include_in_schema=False, dependencies=[Depends(officers)])
def start_page(request: Request):  # noqa: ANN201
    """Start an activation; activations and blanks saved at this office."""
    return _start_page(request)


@router.post("/ikd/mulai", include_in_schema=False)
async def start(request: Request, user: User = Depends(counter)):  # noqa: ANN201
    form = await request.form()
    values = {"nik": str(form.get("nik", "")).strip(), "phone": str(form.get("phone", "")).strip(),
              "email": str(form.get("email", "")).strip()}
    try:
        with request.app.state.db.unit_of_work() as s:
            row = service.start_activation(s, settings=request.app.state.settings, consent=form.get("consent") == "1",
                                           actor=user.username, source_ip=_ip(request), **values)
            activation_id = row.id
    except KtpelError as exc:
        return _start_page(request, error=exc, status=status_for(exc), form=values)
    return RedirectResponse(f"/ikd/{activation_id}", status_code=303)


def _step_page(request: Request, activation_id: str, *, error: KtpelError | None = None, status: int = 200,
               score: float | None = None):  # noqa: ANN202
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        row = service.get_activation(s, activation_id=activation_id, regency_code=settings.office_regency)
    device_url = str(request.base_url).rstrip("/") + f"/ikd/perangkat/{row.qr_nonce}" if row.qr_nonce else ""
    state = IkdState(row.state)
    return render(request, "ikd/step.html", {"row": row, "error": error, "device_url": device_url, "score": score,
                                             "state_words": (state.label_id, state.value.lower().replace("_", " "))},
                  status_code=status)


@router.get("/ikd/{activation_id}", include_in_schema=False, dependencies=[Depends(officers)])
def step_page(activation_id: str, request: Request):  # noqa: ANN201
    return _step_page(request, activation_id)


@router.post("/ikd/{activation_id}/swafoto", include_in_schema=False)
async def selfie(activation_id: str, request: Request, user: User = Depends(counter)):  # noqa: ANN201
    """The selfie (webcam snapshot or upload) against the enrolled face, 1:1."""
    form = await request.form()
    upload = form.get("selfie")
    data = await upload.read(MAX_SELFIE_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data or len(data) > MAX_SELFIE_BYTES:
            raise KtpelError("Unggah atau ambil swafoto (maks. 8 MB).", "Upload or take a selfie (at most 8 MB).",
                             code="ikd_selfie_missing")
        service.submit_selfie(request.app.state.db, settings=request.app.state.settings, activation_id=activation_id,
                              image=data, actor=user.username, source_ip=_ip(request))
    except KtpelError as exc:
        return _step_page(request, activation_id, error=exc, status=status_for(exc))
    return RedirectResponse(f"/ikd/{activation_id}", status_code=303)


@router.get("/ikd/{activation_id}/qr.png", include_in_schema=False, dependencies=[Depends(officers)])
def officer_qr(activation_id: str, request: Request) -> Response:
    """The QR the officer shows; it holds the device page's address with the activation's nonce."""
    import segno

    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        row = service.get_activation(s, activation_id=activation_id, regency_code=settings.office_regency)
    if not row.qr_nonce or row.state not in (IkdState.PENDING_SCAN.value, IkdState.PENDING_CODE.value):
        return Response(status_code=404)
    buf = io.BytesIO()
    segno.make(str(request.base_url).rstrip("/") + f"/ikd/perangkat/{row.qr_nonce}", error="m").save(
        buf, kind="png", scale=6, border=2)
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/ikd/{activation_id}/cabut", include_in_schema=False)
async def revoke(activation_id: str, request: Request, user: User = Depends(managers)):  # noqa: ANN201
    form = await request.form()
    try:
        with request.app.state.db.unit_of_work() as s:
            service.revoke_ikd(s, settings=request.app.state.settings, activation_id=activation_id,
                               reason=str(form.get("alasan", "")).strip() or "-", actor=user.username,
                               source_ip=_ip(request))
    except KtpelError as exc:
        return _step_page(request, activation_id, error=exc, status=status_for(exc))
    return RedirectResponse(f"/ikd/{activation_id}", status_code=303)


# --- the resident's device (no login: the nonce in the officer's QR is the proof of presence) ----------------

def _device_page(request: Request, nonce: str, *, error: KtpelError | None = None, status: int = 200,
                 token: str | None = None):  # noqa: ANN202
    with request.app.state.db.unit_of_work() as s:
        try:
            row = service.activation_by_nonce(s, nonce=nonce)
            state = row.state
        except KtpelError as exc:
            return render(request, "ikd/device.html", {"state": None, "error": exc, "nonce": nonce, "token": None,
                                                       "qr": None}, status_code=404)
    return render(request, "ikd/device.html", {"state": state, "error": error, "nonce": nonce, "token": token,
                                               "qr": _qr_data_uri(token) if token else None}, status_code=status)


def _qr_data_uri(text: str) -> str:
    """The credential's QR inline (a data: URI): the token never travels in a URL or an access log."""
    import base64

    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=5, border=2)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@router.get("/ikd/perangkat/{nonce}", include_in_schema=False, dependencies=[Depends(public)])
def device_page(nonce: str, request: Request):  # noqa: ANN201
    return _device_page(request, nonce)


@router.post("/ikd/perangkat/{nonce}/pindai", include_in_schema=False, dependencies=[Depends(public)])
def device_scanned(nonce: str, request: Request):  # noqa: ANN201
    """The device confirms it scanned the officer's QR: a one-time code goes to the resident's phone."""
    try:
        with request.app.state.db.unit_of_work() as s:
            service.scan_officer_qr(s, settings=request.app.state.settings, nonce=nonce)
    except KtpelError as exc:
        return _device_page(request, nonce, error=exc, status=status_for(exc))
    return RedirectResponse(f"/ikd/perangkat/{nonce}", status_code=303)


@router.post("/ikd/perangkat/{nonce}/kode", include_in_schema=False, dependencies=[Depends(public)])
async def device_code(nonce: str, request: Request):  # noqa: ANN201
    form = await request.form()
    try:
        row = service.enter_code(request.app.state.db, settings=request.app.state.settings, nonce=nonce,
                                 code=str(form.get("kode", "")))
    except KtpelError as exc:
        return _device_page(request, nonce, error=exc, status=status_for(exc))
    return _device_page(request, nonce, token=row.token)
