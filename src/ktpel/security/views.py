"""Sign-in and sign-out pages, the signed-in user, and the auditor's pages (search, verify, CSV export)."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse

from ktpel.domain import clock
from ktpel.domain.errors import KtpelError
from ktpel.security import audit, service
from ktpel.security.access import Role, User, public, requires
from ktpel.security.middleware import cookie_secure, session_cookie_name
from ktpel.web.templating import render
from ktpel.security.schemas import AuditPage, AuditVerification, Me

router = APIRouter()
auditors = Depends(requires(Role.AUDITOR))
anyone_signed_in = requires(*Role)


def safe_next(target: str | None) -> str:
    """Only local paths: an open redirect would let a phishing link borrow our login page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target:
        return "/"
    return target


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/masuk", include_in_schema=False, dependencies=[Depends(public)])
def login_page(request: Request, next: str = "/", keluar: int = 0):  # noqa: ANN201
    """The sign-in form (an already signed-in user goes straight on)."""
    if getattr(request.state, "user", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "security/login.html", {"next": safe_next(next), "error": None, "username": "",
                                                   "signed_out": bool(keluar)})


@router.post("/masuk", include_in_schema=False, dependencies=[Depends(public)])
async def login_submit(request: Request):  # noqa: ANN201
    """Check the password (with lockout), start a new session, go to `next`."""
    form = await request.form()
    username = str(form.get("username") or "")[:200]
    password = str(form.get("password") or "")[:1024]
    target = safe_next(str(form.get("next") or "/"))
    settings, db, side = request.app.state.settings, request.app.state.db, request.app.state.side
    from starlette.concurrency import run_in_threadpool

    def work() -> tuple[str | None, service.AuthError | None]:
        with db.unit_of_work() as s:
            try:
                user = service.authenticate(s, username=username, password=password, side=side,
                                            settings=settings, source_ip=_ip(request))
            except service.AuthError as exc:
                # returned, not raised: the failed attempt and its audit entry must be committed
                return None, exc
            return service.start_session(s, user=user, source_ip=_ip(request))[0], None

    raw, exc = await run_in_threadpool(work)
    if exc is not None:
        # the form is shown again (200) with the reason; only a lockout has its own status (429)
        status = 429 if isinstance(exc, service.LockedOut) else 200
        return render(request, "security/login.html", {"next": target, "error": exc, "username": username[:64],
                                                       "signed_out": False}, status_code=status)
    resp = RedirectResponse(target, status_code=303)
    # a brand-new session id at every sign-in: a planted cookie (session fixation) is never promoted
    resp.set_cookie(session_cookie_name(side), raw, httponly=True, samesite="lax", path="/",
                    secure=cookie_secure(settings, request.scope))
    return resp


@router.post("/keluar", include_in_schema=False, dependencies=[Depends(public)])
def logout(request: Request) -> RedirectResponse:
    """End the session server-side and drop the cookie."""
    side = request.app.state.side
    raw = request.cookies.get(session_cookie_name(side), "")
    with request.app.state.db.unit_of_work() as s:
        user = service.end_session(s, raw=raw)
        if user is not None:
            audit.record_audit(s, actor=user.username, action="logout", subject=f"user:{user.username}",
                               source_ip=_ip(request))
    resp = RedirectResponse("/masuk?keluar=1", status_code=303)
    resp.delete_cookie(session_cookie_name(side), path="/")
    return resp


@router.get("/api/v1/me", tags=["security"],
            response_model=Me, response_model_exclude_unset=True)
def me(request: Request, user: User = Depends(anyone_signed_in)) -> dict:
    """The signed-in user (session or bearer token); a browser session also gets its CSRF token."""
    out = {"username": user.username, "role": user.role.value, "regency_code": user.regency_code,
           "full_name": user.full_name}
    if getattr(request.state, "auth", None) == "session":
        # readable only by same-origin scripts (no CORS), which is who needs it for fetch() calls
        out["csrf_token"] = request.state.csrf_token
    return out


def _query(actor: str | None, action: str | None, subject: str | None, dari: str | None,
           sampai: str | None) -> audit.AuditQuery:
    def day(raw: str | None) -> dt.datetime | None:
        if not raw:
            return None
        try:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(), tzinfo=dt.timezone.utc)
        except ValueError:
            raise KtpelError("Tanggal tidak valid (format TTTT-BB-HH).", "Date is not valid (YYYY-MM-DD).",
                             code="date_invalid") from None
    until = day(sampai)
    return audit.AuditQuery(actor=(actor or "").strip()[:64] or None, action=(action or "").strip()[:80] or None,
                            subject=(subject or "").strip()[:200] or None, since=day(dari),
                            until=until + dt.timedelta(days=1) if until else None)


@router.get("/audit", include_in_schema=False, dependencies=[auditors])
def audit_page(request: Request, actor: str = "", action: str = "", subject: str = "", dari: str = "",
               sampai: str = "", halaman: int = Query(1, ge=1, le=100_000), periksa: int = 0):  # noqa: ANN201
    """Search the audit trail, newest first; optionally verify the whole chain."""
    size = 50
    error, rows, total, chain = None, [], 0, None
    try:
        q = _query(actor, action, subject, dari, sampai)
    except KtpelError as exc:
        error, q = exc, audit.AuditQuery()
    with request.app.state.db.unit_of_work() as s:
        rows, total = audit.search_audit(s, query=q, limit=size, offset=(halaman - 1) * size)
        if periksa:
            chain = _verify(request, s)
    params = {k: v for k, v in {"actor": actor, "action": action, "subject": subject, "dari": dari,
                                "sampai": sampai}.items() if v}
    return render(request, "security/audit.html", {
        "q": q, "dari": dari, "sampai": sampai, "rows": rows, "total": total, "page": halaman,
        "pages": max(1, math.ceil(total / size)), "chain": chain, "error": error,
        "export_query": urlencode(params),
    })


@router.get("/audit/ekspor.csv", include_in_schema=False, dependencies=[auditors])
def audit_export(request: Request, actor: str = "", action: str = "", subject: str = "", dari: str = "",
                 sampai: str = "", user: User = Depends(requires(Role.AUDITOR))) -> StreamingResponse:
    """The matching entries as CSV in chain order (formula-safe cells)."""
    q = _query(actor, action, subject, dari, sampai)
    db = request.app.state.db
    with db.unit_of_work() as s:
        audit.record_audit(s, actor=user.username, action="audit.export", subject="audit_log",
                           after={"actor": q.actor, "action": q.action, "subject": q.subject}, source_ip=_ip(request))

    def rows():  # noqa: ANN202
        with db.unit_of_work() as s:
            yield from audit.export_csv(s, query=q)

    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="audit-{stamp}.csv"'})


@router.get("/api/v1/audit", tags=["security"], dependencies=[auditors],
            response_model=AuditPage, response_model_exclude_unset=True)
def audit_api(request: Request, actor: str | None = None, action: str | None = None, subject: str | None = None,
              since: dt.date | None = None, until: dt.date | None = None,
              page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=500)) -> dict:
    """Audit entries matching the filters, newest first."""
    q = _query(actor, action, subject, since.isoformat() if since else None, until.isoformat() if until else None)
    with request.app.state.db.unit_of_work() as s:
        rows, total = audit.search_audit(s, query=q, limit=page_size, offset=(page - 1) * page_size)
        items = [{c: (getattr(r, c).isoformat() if c == "at" else getattr(r, c)) for c in audit.CSV_COLUMNS}
                 for r in rows]
    return {"total": total, "page": page, "page_size": page_size, "items": items}


@router.get("/api/v1/audit/verify", tags=["security"], dependencies=[auditors],
            response_model=AuditVerification, response_model_exclude_unset=True)
def audit_verify_api(request: Request) -> dict:
    """Walk the whole chain; says where it was edited, cut or reordered."""
    with request.app.state.db.unit_of_work() as s:
        report = _verify(request, s)
    return {"ok": report.ok, "entries": report.entries,
            "problems": [{"seq": p.seq, "kind": p.kind, "message_id": p.message_id, "message_en": p.message_en}
                         for p in report.problems]}


def _verify(request: Request, session) -> audit.ChainReport:  # noqa: ANN001
    """The chain and this side's signed checkpoints kept outside the database."""
    from ktpel.security.checkpoints import verify_anchored

    return verify_anchored(session, settings=request.app.state.settings, side=request.app.state.side)
