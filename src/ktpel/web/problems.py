"""Errors as RFC 9457 problem details in the API and as pages in Bahasa Indonesia for people."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ktpel.domain.errors import KtpelError, NotFound, ValidationFailed, InvalidTransition

log = logging.getLogger("ktpel.web")

STATUS_OF: list[tuple[type[KtpelError], int]] = [
    (NotFound, 404),
    (ValidationFailed, 422),
    (InvalidTransition, 409),
]

PLAIN_ID = {
    400: "Permintaan tidak valid.", 401: "Silakan masuk terlebih dahulu.",
    403: "Anda tidak berwenang membuka halaman ini.", 404: "Halaman tidak ditemukan.",
    405: "Metode tidak diizinkan.", 409: "Terjadi konflik dengan data yang ada.",
    413: "Berkas terlalu besar.", 422: "Data tidak valid.", 429: "Terlalu banyak permintaan, coba lagi nanti.",
    500: "Terjadi kesalahan pada sistem.",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def status_for(exc: KtpelError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return getattr(exc, "http_status", 400)


def problem(*, status: int, title: str, detail: str, code: str, errors: list | None = None) -> JSONResponse:
    body = {"type": f"urn:ktpel:problem:{code}", "title": title, "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _page(request: Request, *, status: int, message_id: str, message_en: str):  # noqa: ANN202
    from ktpel.web.templating import render

    return render(request, "error.html", {"status": status, "message_id": message_id,
                                          "message_en": message_en}, status_code=status)


def install(app: FastAPI) -> None:
    """Map typed errors to problem details (API) or an error page (browser)."""

    @app.exception_handler(KtpelError)
    async def _ktpel(request: Request, exc: KtpelError):  # noqa: ANN202
        status = status_for(exc)
        if wants_json(request):
            errors = [e.as_dict() for e in exc.errors] if isinstance(exc, ValidationFailed) else None
            return problem(status=status, title=exc.code, detail=exc.message_en, code=exc.code, errors=errors)
        return _page(request, status=status, message_id=exc.message_id, message_en=exc.message_en)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if wants_json(request):
            resp = problem(status=exc.status_code, title=detail, detail=detail, code=f"http_{exc.status_code}")
        else:
            resp = _page(request, status=exc.status_code,
                         message_id=PLAIN_ID.get(exc.status_code, detail), message_en=detail)
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):  # noqa: ANN202
        errors = [{"loc": list(e.get("loc", [])), "message_en": e.get("msg", "")} for e in exc.errors()]
        if wants_json(request):
            return problem(status=422, title="invalid request", detail="The request is not valid.",
                           code="request_invalid", errors=errors)
        return _page(request, status=422, message_id="Isian tidak valid: periksa kembali formulir.",
                     message_en="; ".join(e["message_en"] for e in errors))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # noqa: ANN202
        log.exception("unhandled error on %s", request.url.path)
        if wants_json(request):
            return problem(status=500, title="internal error", detail="An unexpected error occurred.",
                           code="internal")
        return _page(request, status=500, message_id=PLAIN_ID[500], message_en="An unexpected error occurred.")
