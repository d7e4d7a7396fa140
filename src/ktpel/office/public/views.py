"""Public pages (no login): resident status (/status) and card QR verification (/verifikasi), and their JSON."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from pathlib import Path

from fastapi.responses import JSONResponse, Response

from ktpel.domain.errors import KtpelError
from ktpel.office.notify.errors import RateLimited
from ktpel.office.public import service
from ktpel.security.access import public
from ktpel.web.templating import render
from ktpel.office.public.schemas import CardVerification, RecordingStatus

router = APIRouter()


def _ip(request: Request) -> str:
    # the security middleware's address: the peer, or X-Forwarded-For only from KTPEL_TRUSTED_PROXIES
    ip = getattr(request.state, "source_ip", None)
    return ip or (request.client.host if request.client else "unknown")


def _limiter(request: Request) -> service.SlidingWindow:
    limiter = getattr(request.app.state, "status_limiter", None)
    if limiter is None:
        limiter = service.SlidingWindow(limit=request.app.state.settings.status_limit_per_ip, window_s=60)
        request.app.state.status_limiter = limiter
    return limiter


def _lookup(request: Request, *, nik: str, receipt_number: str) -> service.PublicStatus:
    with request.app.state.db.unit_of_work() as s:
        return service.lookup_status(s, settings=request.app.state.settings, nik=nik, receipt_number=receipt_number,
                                     ip=_ip(request), limiter=_limiter(request))


@router.get("/status", include_in_schema=False, dependencies=[Depends(public)])
def status_form(request: Request):  # noqa: ANN201
    return render(request, "public/status.html", {"result": None, "nik": "", "receipt": ""})


@router.post("/status", include_in_schema=False, dependencies=[Depends(public)])
def status_page(request: Request, nik: str = Form(""), receipt_number: str = Form("")):  # noqa: ANN201
    """NIK + receipt → status in plain words; a wrong pair reads exactly like an unknown one."""
    try:
        result = _lookup(request, nik=nik, receipt_number=receipt_number)
    except RateLimited as exc:
        resp = render(request, "public/status.html", {"result": None, "error": exc, "nik": "", "receipt": ""},
                      status_code=429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except KtpelError as exc:
        return render(request, "public/status.html", {"result": None, "error": exc, "nik": nik,
                                                      "receipt": receipt_number}, status_code=422)
    return render(request, "public/status.html", {"result": result, "nik": "", "receipt": ""})


@router.post("/api/v1/public/status", tags=["public"], dependencies=[Depends(public)],
             response_model=RecordingStatus, response_model_exclude_unset=True)
def status_api(request: Request, body: dict) -> JSONResponse:
    """JSON `{nik, receipt_number}` → the same answer as the page (POST keeps the NIK out of URLs and logs)."""
    try:
        result = _lookup(request, nik=str(body.get("nik", "")), receipt_number=str(body.get("receipt_number", "")))
    except RateLimited as exc:
        return JSONResponse({"type": "urn:ktpel:problem:rate_limited", "title": "rate_limited", "status": 429,
                             "detail": exc.message_en, "code": exc.code}, status_code=429,
                            media_type="application/problem+json", headers={"Retry-After": str(exc.retry_after)})
    return JSONResponse(result.as_dict())


@router.get("/verifikasi", include_in_schema=False, dependencies=[Depends(public)])
def verify_form(request: Request):  # noqa: ANN201
    return render(request, "public/verify.html", {"result": None, "payload": ""})


@router.post("/verifikasi", include_in_schema=False, dependencies=[Depends(public)])
def verify_page(request: Request, payload: str = Form("")):  # noqa: ANN201
    """Paste (or scan) a card's QR payload; the signature is checked here, offline."""
    with request.app.state.db.unit_of_work() as s:
        result = service.verify_card(s, settings=request.app.state.settings, payload=payload)
    return render(request, "public/verify.html", {"result": result, "payload": payload})


@router.post("/api/v1/public/verify", tags=["public"], dependencies=[Depends(public)],
             response_model=CardVerification, response_model_exclude_unset=True)
def verify_api(request: Request, body: dict) -> dict:
    """JSON `{payload}` → `{result: VALID|INVALID|REVOKED|NO_KEYS, …}`."""
    with request.app.state.db.unit_of_work() as s:
        return service.verify_card(s, settings=request.app.state.settings,
                                   payload=str(body.get("payload", ""))).as_dict()


@router.get("/verifikasi/scan.js", include_in_schema=False, dependencies=[Depends(public)])
def scan_script() -> Response:
    """The optional camera scanner (native BarcodeDetector); a file beside this module, served same-origin."""
    return Response((Path(__file__).parent / "scan.js").read_text(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})
