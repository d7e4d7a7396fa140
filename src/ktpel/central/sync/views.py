"""Central's sync endpoints (machine-to-machine, authenticated by signatures) and the intake admin page."""

from __future__ import annotations

import datetime as dt
import threading
import time

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ktpel.domain.errors import KtpelError
from ktpel.security.access import Role, User, machine, public, requires
from ktpel.security.audit import record_audit
from ktpel.central.sync import intake as central_intake, service
from ktpel.sync import envelope as env
from ktpel.keys import keyring as keymod
from ktpel.central.sync.events import events_after
from ktpel.sync.schemas import (CheckpointAccepted, KeyList, PacketEnvelope, PacketReceipt, RegistrationIn, SealedEvents,
                                SignedCheckpoints, body_of)
from ktpel.sync.wiring import HandlerContext
from ktpel.web.templating import render

router = APIRouter()
admin = requires(Role.CENTER_ADMIN)


def nodes_only(request: Request) -> None:
    """Sync routes are for ktpel nodes (signatures), never for a person's session."""
    if getattr(request.state, "user", None) is not None:
        raise HTTPException(status_code=403, detail="sync routes are for ktpel nodes, not signed-in users")


NODES = [Depends(machine), Depends(nodes_only)]


class IntakeGate:
    """Load shedding: at most `max_inflight` packets at once and `rate` per second, else 503/429 + Retry-After."""

    def __init__(self, *, max_inflight: int, rate: float) -> None:
        self.max_inflight, self.rate = max_inflight, rate
        self.inflight = 0
        self.tokens, self.stamp = max(rate, 1.0), time.monotonic()
        self.lock = threading.Lock()

    def enter(self) -> tuple[int, float] | None:
        """None when admitted, else (status, retry-after seconds)."""
        with self.lock:
            if self.rate > 0:
                now = time.monotonic()
                self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens < 1.0:
                    return 429, max(0.05, (1.0 - self.tokens) / self.rate)
                self.tokens -= 1.0
            if self.max_inflight and self.inflight >= self.max_inflight:
                return 503, 1.0
            self.inflight += 1
            return None

    def leave(self) -> None:
        with self.lock:
            self.inflight -= 1


def _gate(request: Request) -> IntakeGate:
    gate = getattr(request.app.state, "sync_gate", None)
    if gate is None:
        s = request.app.state.settings
        gate = request.app.state.sync_gate = IntakeGate(max_inflight=s.central_max_inflight, rate=s.central_rate_per_s)
    return gate


def _ring(request: Request) -> keymod.Keyring:
    """Central's keyring, read again whenever its file changes: `ktpel keys rotate --side central`
    takes effect on the next request, without a restart (one stat() per request)."""
    settings = request.app.state.settings
    try:
        stamp = keymod.keyring_path(settings, side="central").stat().st_mtime_ns
    except FileNotFoundError:
        stamp = None  # load_keyring raises the clear error
    ring = getattr(request.app.state, "sync_ring", None)
    if ring is None or getattr(request.app.state, "sync_ring_stamp", None) != stamp:
        ring = request.app.state.sync_ring = keymod.load_keyring(settings, side="central")
        request.app.state.sync_ring_stamp = stamp
    return ring


def _refusal(exc: env.Refused) -> JSONResponse:
    return JSONResponse({"type": f"urn:ktpel:problem:{exc.reason}", "title": "packet refused",
                         "status": exc.http_status, "code": exc.reason, "detail": exc.detail},
                        status_code=exc.http_status, media_type="application/problem+json")


@router.post("/api/v1/sync/packets", tags=["sync"], dependencies=NODES, openapi_extra=body_of(PacketEnvelope),
             responses={200: {"model": PacketReceipt, "description": "Central's signed receipt"}})
async def receive_packet(request: Request) -> JSONResponse:
    """Store one signed, sealed packet and answer with central's signed receipt (same packet → same receipt)."""
    envelope = await _signed_body(request)
    if isinstance(envelope, JSONResponse):
        return envelope
    return await run_in_threadpool(_receive, request, envelope)


async def _signed_body(request: Request) -> dict | JSONResponse:
    """The JSON object a node sent; anything else is an unauthenticated call (401), not a bad packet."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _refusal(env.Refused("unsigned", "no signed JSON document in the body", status=401))
    return body


def _receive(request: Request, envelope: dict) -> JSONResponse:
    gate = _gate(request)
    busy = gate.enter()
    if busy is not None:
        status, after = busy
        return JSONResponse({"type": "urn:ktpel:problem:busy", "title": "busy", "code": "busy", "status": status,
                             "detail": "central is shedding load"}, status_code=status,
                            media_type="application/problem+json", headers={"Retry-After": f"{after:.2f}"})
    try:
        s = request.app.state.settings
        receipt, again = central_intake.receive_packet(
            request.app.state.db, envelope=envelope, central=_ring(request), intake=request.app.state.intake,
            context=HandlerContext(settings=s),
            remote=request.client.host if request.client else "",
            replay_window=dt.timedelta(days=s.sync_replay_window_days))
    except env.Refused as exc:
        return _refusal(exc)
    finally:
        gate.leave()
    _central_checkpoint(request)
    return JSONResponse({"receipt": receipt, "duplicate": again})


def _central_checkpoint(request: Request) -> None:
    """Central's own head, signed into its append-only file at most every 30 s while packets arrive."""
    from ktpel.security.checkpoints import write_checkpoint

    try:
        write_checkpoint(request.app.state.settings, request.app.state.db, side="central", min_interval_s=30.0)
    except Exception:  # noqa: BLE001 - a receipt already committed must still be answered
        import logging

        logging.getLogger("ktpel.audit").exception("central audit checkpoint not written")


@router.post("/api/v1/sync/audit-checkpoint", tags=["sync"], dependencies=NODES, response_model=CheckpointAccepted)
async def audit_checkpoint(request: Request) -> JSONResponse:
    """An office's signed audit head, kept at central; one that goes back or changes history is refused."""
    body = await _signed_body(request)
    if isinstance(body, JSONResponse):
        return body
    return await run_in_threadpool(_audit_checkpoint, request, body)


def _audit_checkpoint(request: Request, doc: dict) -> JSONResponse:
    db = request.app.state.db
    remote = request.client.host if request.client else ""
    try:
        with db.unit_of_work() as s:
            central_intake.accept_audit_checkpoint(s, doc=doc)
    except env.Refused as exc:
        central_intake.log_rejection(db, reason=exc.reason, detail=exc.detail, remote=remote,
                                     office_code=str(doc.get("node", ""))[:40])
        return _refusal(exc)
    return JSONResponse({"ok": True, "seq": doc["seq"]})


@router.get("/api/v1/sync/events", tags=["sync"], dependencies=NODES, response_model=SealedEvents,
            responses={200: {"description": "Events after the cursor, sealed to the office"}})
def office_events(request: Request, after: int = 0, limit: int = 200) -> JSONResponse:
    """The events of the calling office after its cursor, sealed to it and signed by central."""
    db = request.app.state.db
    try:
        with db.unit_of_work() as s:
            code = env.verify_request(request.headers, method="GET", path=request.url.path,
                                      office_keys_of=lambda c: central_intake.office_keys(s, c))
            office = central_intake.office_keys(s, code)
            events = events_after(s, office_code=code, after=max(0, after), limit=max(1, min(limit, 1000)))
    except env.Refused as exc:
        central_intake.log_rejection(db, reason=exc.reason, detail=exc.detail,
                                     office_code=request.headers.get("x-ktpel-office", ""),
                                     remote=request.client.host if request.client else "")
        return _refusal(exc)
    ring = _ring(request)
    return JSONResponse(env.seal_events(events=events, office_code=code, after=max(0, after),
                                        central=ring.active, office=office[-1]))


@router.get("/api/v1/sync/audit-checkpoints", tags=["sync"], dependencies=NODES, response_model=SignedCheckpoints)
def office_audit_checkpoints(request: Request) -> JSONResponse:
    """The signed audit checkpoints central holds for the calling office, signed again by central, so
    `ktpel office verify-audit` can check the office's chain against a copy it cannot edit."""
    from ktpel.keys import crypto

    db = request.app.state.db
    try:
        with db.unit_of_work() as s:
            code = env.verify_request(request.headers, method="GET", path=request.url.path,
                                      office_keys_of=lambda c: central_intake.office_keys(s, c))
            docs = central_intake.office_checkpoints(s, office_code=code)
    except env.Refused as exc:
        return _refusal(exc)
    ring = _ring(request)
    return JSONResponse(crypto.sign_document(ring.active.signing, {
        "v": 1, "type": "audit.checkpoints", "office": code, "central_kid": ring.active.kid, "checkpoints": docs}))


@router.get("/api/v1/sync/keys", tags=["sync"], dependencies=[Depends(public)], response_model=KeyList,
            response_model_exclude_unset=True)
def central_keys(request: Request) -> dict:
    """Central's public keys, signed by each of its keys (offices accept new keys signed by a trusted one)."""
    return service.signed_key_list(_ring(request))


@router.post("/api/v1/sync/register", tags=["sync"], dependencies=NODES, openapi_extra=body_of(RegistrationIn),
             response_model=KeyList, responses={200: {"description": "Central's signed public keys"}})
async def register(request: Request) -> JSONResponse:
    """Enrolment of an office: its public keys in, central's signed public keys out."""
    body = await _signed_body(request)
    if isinstance(body, JSONResponse):
        return body
    return await run_in_threadpool(_register, request, body)


def _register(request: Request, body: dict) -> JSONResponse:
    try:
        checked = RegistrationIn.model_validate(body)
    except ValidationError as exc:
        return _refusal(env.Refused("registration_invalid", "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:10]),
            status=422))
    try:
        with request.app.state.db.unit_of_work() as s:
            answer = service.accept_registration(s, settings=request.app.state.settings,
                                                 # fields the schema does not name yet pass through
                                                 request={**body, **checked.model_dump(exclude_none=True)})
    except KtpelError as exc:
        central_intake.log_rejection(request.app.state.db, reason="registration", detail=exc.message_en,
                                     office_code=checked.office_code)
        return _refusal(env.Refused(exc.code, exc.message_en, status=403))
    except (ValueError, KeyError):  # a key that is not a key, a proof that does not verify
        central_intake.log_rejection(request.app.state.db, reason="registration", detail="unusable keys",
                                     office_code=checked.office_code)
        return _refusal(env.Refused("registration_invalid", "the keys or the proof are not usable", status=422))
    return JSONResponse(answer)


@router.get("/pusat/sinkron", include_in_schema=False)
def intake_page(request: Request, user: User = Depends(admin)):  # noqa: ANN201
    """Offices, packets held, refusals and maintenance announcements."""
    with request.app.state.db.unit_of_work() as s:
        overview = service.central_overview(s)
    return render(request, "sync/central.html", {"o": overview, "error": None})


@router.post("/pusat/sinkron/token", include_in_schema=False)
def issue_token(request: Request, kabupaten: str = Form(...), jam: float = Form(72.0),
                user: User = Depends(admin)):  # noqa: ANN201
    """Issue a one-time enrolment token for one office of a regency; the page shows it once."""
    token, error = None, None
    try:
        with request.app.state.db.unit_of_work() as s:
            token = service.issue_enrolment_token(s, regency_code=kabupaten.strip(), issued_by=user.username,
                                                  valid_hours=jam)
            _audit(s, user=user, action="sync.enrolment_token", subject=kabupaten.strip()[:5])
    except KtpelError as exc:
        error = exc
    with request.app.state.db.unit_of_work() as s:
        overview = service.central_overview(s)
    return render(request, "sync/central.html",
                  {"o": overview, "error": None, "token_error": error,
                   "new_token": None if token is None else {"token": token, "regency": kabupaten.strip()}},
                  status_code=200 if error is None else 422)


@router.post("/pusat/sinkron/pengumuman", include_in_schema=False)
def announce(request: Request, mulai: str = Form(...), selesai: str = Form(""), pesan: str = Form(...),
             pesan_en: str = Form(""), user: User = Depends(admin)):  # noqa: ANN201
    """Announce a maintenance window (times in WIB) to every office."""
    from ktpel.web.responses import redirect

    error = None
    try:
        starts, ends = _wib(mulai), (_wib(selesai) if selesai.strip() else None)
        with request.app.state.db.unit_of_work() as s:
            service.announce_maintenance(s, starts_at=starts, ends_at=ends, message_id=pesan,
                                         message_en=pesan_en, created_by=user.username)
            _audit(s, user=user, action="sync.announce", subject=f"{mulai}..{selesai}")
    except KtpelError as exc:
        error = exc
    if error is None:
        return redirect("/pusat/sinkron")
    with request.app.state.db.unit_of_work() as s:
        overview = service.central_overview(s)
    return render(request, "sync/central.html", {"o": overview, "error": error}, status_code=422)


WIB = dt.timezone(dt.timedelta(hours=7))


def _wib(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise service.AnnouncementInvalid("Format waktu: TTTT-BB-HHTjj:mm.", "Time format: YYYY-MM-DDTHH:MM.") from None
    return value if value.tzinfo else value.replace(tzinfo=WIB)


def _audit(session, *, user: User, action: str, subject: str) -> None:  # noqa: ANN001
    record_audit(session, actor=user.username, action=action, subject=subject)
