"""Pages: outage call-back and call list (/panggilan), the outbox (/notifikasi), template editing."""

from __future__ import annotations

import hmac
import json

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ktpel.domain.errors import KtpelError
from ktpel.office.notify import delivery
from ktpel.office.notify import service as notify_service
from ktpel.office.notify import templates as tpl
from ktpel.office.notify import notices as service
from ktpel.security.access import OFFICE_ROLES, Role, User, machine, requires
from ktpel.web.responses import redirect
from ktpel.web.templating import render
from ktpel.web.params import RowId
from ktpel.office.notify.schemas import CallbackAdded, DeliveryReportsApplied, Outbox, TemplateSaved

router = APIRouter()
officers = requires(*OFFICE_ROLES)
managers = requires(Role.SUPERVISOR, Role.HEAD)
head_only = requires(Role.HEAD)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _safe_next(target: str | None, default: str) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else default


@router.get("/panggilan", include_in_schema=False)
def callback_page(request: Request, user: User = Depends(officers), error: str | None = None):  # noqa: ANN201
    """Turned-away residents and the call list for staff."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        waiting = service.list_turned_away(s, regency_code=settings.office_regency)
        calls = service.call_list(s, settings=settings)
    return render(request, "notify/panggilan.html", {
        "waiting": waiting, "calls": calls, "outcomes": service.OUTCOMES, "labels": tpl.TRIGGER_LABELS,
        "error": error,
    })


@router.post("/panggilan/tambah", include_in_schema=False)
def add_turned_away(request: Request, nik: str = Form(...), next: str | None = Form(None),  # noqa: A002
                    user: User = Depends(officers)):  # noqa: ANN201
    """One click at the counter: put the resident on the outage call-back list."""
    settings = request.app.state.settings
    try:
        with request.app.state.db.unit_of_work() as s:
            service.add_turned_away(s, nik=nik, regency_code=settings.office_regency, actor=user.username,
                                    source_ip=_ip(request))
    except KtpelError as exc:
        with request.app.state.db.unit_of_work() as s:
            waiting = service.list_turned_away(s, regency_code=settings.office_regency)
            calls = service.call_list(s, settings=settings)
        return render(request, "notify/panggilan.html", {
            "waiting": waiting, "calls": calls, "outcomes": service.OUTCOMES, "labels": tpl.TRIGGER_LABELS,
            "error": exc}, status_code=404 if exc.code == "not_found" else 400)
    return redirect(_safe_next(next, "/panggilan") + "#daftar")


@router.post("/panggilan/{call_id}/hasil", include_in_schema=False)
def log_call(call_id: RowId, request: Request, outcome: str = Form(...), note: str = Form(""),
             user: User = Depends(officers)):  # noqa: ANN201
    """Record how a call went (reached, no answer, wrong number)."""
    with request.app.state.db.unit_of_work() as s:
        service.record_call(s, call_id=call_id, outcome=outcome, note=note, actor=user.username,
                            source_ip=_ip(request))
    return redirect("/panggilan#telepon")


@router.post("/api/v1/callbacks", tags=["notifications"],
             response_model=CallbackAdded, response_model_exclude_unset=True)
def add_turned_away_api(request: Request, body: dict, user: User = Depends(officers)) -> dict:
    """Put a resident (by NIK) on the outage call-back list."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        row = service.add_turned_away(s, nik=str(body.get("nik", "")), regency_code=settings.office_regency,
                                      actor=user.username, source_ip=_ip(request))
        return {"id": row.id, "waiting": row.notified_at is None}


@router.get("/notifikasi", include_in_schema=False)
def outbox_page(request: Request, status: str | None = None, user: User = Depends(managers)):  # noqa: ANN201
    """Every message and where it stands; failed ones can be queued again."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        lines, counts = service.recent_messages(s, regency_code=settings.office_regency, state=status or None)
    return render(request, "notify/outbox.html", {"lines": lines, "counts": counts, "status": status or "",
                                                  "labels": tpl.TRIGGER_LABELS})


@router.get("/api/v1/notifications", tags=["notifications"],
            response_model=Outbox, response_model_exclude_unset=True)
def outbox_api(request: Request, status: str | None = None, user: User = Depends(managers)) -> dict:
    """The newest messages (recipient masked) and counts per state."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        lines, counts = service.recent_messages(s, regency_code=settings.office_regency, state=status or None)
    return {"counts": counts, "items": [{
        "id": m.id, "trigger": m.trigger, "recipient": m.recipient, "channel": m.channel, "state": m.state,
        "attempts": m.attempts, "last_error": m.last_error, "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None, "delivery": m.delivery} for m in lines]}


@router.post("/notifikasi/{message_id}/ulang", include_in_schema=False)
def retry_message(message_id: str, request: Request, user: User = Depends(managers)):  # noqa: ANN201
    with request.app.state.db.unit_of_work() as s:
        service.retry_failed(s, message_id=message_id, actor=user.username, source_ip=_ip(request))
    return redirect("/notifikasi?status=FAILED")


def _templates_page(request: Request, *, error: KtpelError | None = None, draft: dict | None = None,
                    status_code: int = 200, saved: str | None = None):  # noqa: ANN202
    with request.app.state.db.unit_of_work() as s:
        items = notify_service.list_templates(s)
    return render(request, "notify/templates.html", {
        "items": items, "labels": tpl.TRIGGER_LABELS, "variables": tpl.VARIABLES, "error": error,
        "draft": draft or {}, "saved": saved}, status_code=status_code)


@router.get("/notifikasi/templat", include_in_schema=False)
def templates_page(request: Request, saved: str | None = None, user: User = Depends(head_only)):  # noqa: ANN201
    """The message texts per trigger, editable by the head of office."""
    return _templates_page(request, saved=saved)


@router.post("/notifikasi/templat/{trigger}", include_in_schema=False)
def save_template(trigger: str, request: Request, body_id: str = Form(...), body_en: str = Form(...),
                  reset: str | None = Form(None), user: User = Depends(head_only)):  # noqa: ANN201
    """Save (or reset) one template; an unknown variable is refused with the list of allowed ones."""
    try:
        with request.app.state.db.unit_of_work() as s:
            if reset:
                notify_service.reset_template(s, trigger=trigger, actor=user.username)
            else:
                notify_service.save_template(s, trigger=trigger, body_id=body_id, body_en=body_en,
                                             actor=user.username)
    except KtpelError as exc:
        return _templates_page(request, error=exc, status_code=422,
                               draft={"trigger": trigger, "body_id": body_id, "body_en": body_en})
    return redirect(f"/notifikasi/templat?saved={trigger}#t-{trigger}")


@router.put("/api/v1/notification-templates/{trigger}", tags=["notifications"],
            response_model=TemplateSaved, response_model_exclude_unset=True)
def save_template_api(trigger: str, request: Request, body: dict, user: User = Depends(head_only)) -> dict:
    """Save one template (`body_id`, `body_en`); 422 problem on an unknown variable."""
    with request.app.state.db.unit_of_work() as s:
        t = notify_service.save_template(s, trigger=trigger, body_id=str(body.get("body_id", "")),
                                         body_en=str(body.get("body_en", "")), actor=user.username)
    return {"trigger": t.trigger, "body_id": t.body_id, "body_en": t.body_en}


# called by the SMS/WhatsApp provider, authenticated by the body's HMAC: no user role may call it
@router.post("/api/v1/notify/delivery-reports", tags=["notifications"], dependencies=[Depends(machine)],
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"type": "object", "description": "The provider's delivery report (HMAC-signed)"}}}}},
             response_model=DeliveryReportsApplied, response_model_exclude_unset=True)
async def delivery_reports(request: Request) -> dict:
    """Provider webhook (HMAC-signed, see ktpel.office.notify.delivery): delivered / read / undelivered."""
    body = await request.body()
    settings = request.app.state.settings
    header = request.headers.get("x-hub-signature-256") or request.headers.get("x-ktpel-signature")
    delivery.verify_signature(secret=settings.notify_webhook_secret, body=body, header=header)
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise KtpelError("Isi laporan bukan JSON.", "The report body is not JSON.", code="webhook_body_invalid") from None
    reports = delivery.reports_from(payload)

    def apply() -> int:
        with request.app.state.db.unit_of_work() as s:
            return delivery.apply_reports(s, reports=reports)

    return {"received": len(reports), "updated": await run_in_threadpool(apply)}


@router.get("/api/v1/notify/delivery-reports", tags=["notifications"], dependencies=[Depends(machine)],
            response_class=PlainTextResponse)
def delivery_reports_handshake(request: Request) -> Response:
    """WhatsApp's subscription check: echo `hub.challenge` when `hub.verify_token` is our secret."""
    q = request.query_params
    secret = request.app.state.settings.notify_webhook_secret
    if not secret or q.get("hub.mode") != "subscribe" or not hmac.compare_digest(q.get("hub.verify_token", ""), secret):
        from ktpel.web.problems import problem

        return problem(status=401, title="webhook_verify_failed", code="webhook_verify_failed",
                       detail="The subscription check does not carry our verify token.")
    return Response(q.get("hub.challenge", ""), media_type="text/plain")
