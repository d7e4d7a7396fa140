"""Suket pages at the counter (/suket) and the same as JSON (/api/v1/suket)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from ktpel.domain.errors import KtpelError
from ktpel.domain.suket import REASONS, SuketPolicyMode, SuketState
from ktpel.office.suket import service
from ktpel.security.access import OFFICE_ROLES, Role, User, requires
from ktpel.web.problems import status_for
from ktpel.web.templating import render
from ktpel.office.suket.schemas import SuketOut, SuketPolicyOut

router = APIRouter()
officers = requires(*OFFICE_ROLES)
counter = requires(Role.OPERATOR, Role.SUPERVISOR, Role.HEAD)
managers = requires(Role.SUPERVISOR, Role.HEAD)
head = requires(Role.HEAD)


def state_words(code: str) -> tuple[str, str]:
    """The officer's words for a Suket's state; EXPIRED is what an ACTIVE one past its date reads as."""
    if code in {m.value for m in SuketState}:
        return SuketState(code).label_id, code.lower()
    return ("kedaluwarsa", "expired") if code == "EXPIRED" else (code, code)

NOTICES = {
    "terbit": ("Suket diterbitkan dan dilaporkan ke pusat (antre di kotak keluar).",
               "Suket issued and reported to central (queued in the outbox)."),
    "perpanjang": ("Suket diperpanjang.", "Suket renewed."),
    "cabut": ("Suket dicabut.", "Suket revoked."),
    "kebijakan": ("Kebijakan Suket diubah.", "Suket policy changed."),
}


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _counter_page(request: Request, *, error: KtpelError | None = None, status: int = 200, nik: str = ""):  # noqa: ANN202
    with request.app.state.db.unit_of_work() as s:
        policy = service.current_policy(s)
        rows = service.recent(s, limit=40)
        states = {r.serial: service.effective_state(r) for r in rows}
        counts = service.counts(s)
    return render(request, "suket/counter.html", {
        "policy": policy, "rows": rows, "states": {k: state_words(v) for k, v in states.items()}, "counts": counts,
        "reasons": REASONS,
        "modes": list(SuketPolicyMode), "error": error, "nik": nik or request.query_params.get("nik", ""),
        "notice": NOTICES.get(request.query_params.get("ok", "")),
    }, status_code=status)


@router.get("/suket", include_in_schema=False, dependencies=[Depends(officers)])
def counter_page(request: Request):  # noqa: ANN201
    """The office's Suket policy (visible to every officer), the issue form and the register."""
    return _counter_page(request)


@router.post("/suket/terbit", include_in_schema=False)
async def issue(request: Request, user: User = Depends(counter)):  # noqa: ANN201
    form = await request.form()
    nik = str(form.get("nik", "")).strip()
    try:
        with request.app.state.db.unit_of_work() as s:
            row = service.issue_suket(s, settings=request.app.state.settings, nik=nik,
                                      reason=str(form.get("alasan", "")), actor=user.username, source_ip=_ip(request))
            serial = row.serial
    except KtpelError as exc:
        return _counter_page(request, error=exc, status=status_for(exc), nik=nik)
    return RedirectResponse(f"/suket/{serial}?ok=terbit", status_code=303)


def _detail(request: Request, serial: str, *, error: KtpelError | None = None, status: int = 200):  # noqa: ANN202
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        row = service.get_suket(s, serial=serial, regency_code=settings.office_regency)
        state = service.effective_state(row)
        policy = service.current_policy(s)
    return render(request, "suket/detail.html", {
        "row": row, "state": state, "state_words": state_words(state), "policy": policy, "error": error,
        "notice": NOTICES.get(request.query_params.get("ok", "")),
    }, status_code=status)


@router.get("/suket/{serial}", include_in_schema=False, dependencies=[Depends(officers)])
def detail_page(serial: str, request: Request):  # noqa: ANN201
    return _detail(request, serial)


@router.get("/suket/{serial}/pdf", include_in_schema=False, dependencies=[Depends(officers)])
def pdf(serial: str, request: Request) -> Response:
    """The A4 certificate to print and hand over."""
    with request.app.state.db.unit_of_work() as s:
        data = service.suket_pdf(s, settings=request.app.state.settings, serial=serial)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="suket-{serial}.pdf"'})


@router.post("/suket/{serial}/perpanjang", include_in_schema=False)
def renew(serial: str, request: Request, user: User = Depends(counter)):  # noqa: ANN201
    try:
        with request.app.state.db.unit_of_work() as s:
            service.renew_suket(s, settings=request.app.state.settings, serial=serial, actor=user.username,
                                source_ip=_ip(request))
    except KtpelError as exc:
        return _detail(request, serial, error=exc, status=status_for(exc))
    return RedirectResponse(f"/suket/{serial}?ok=perpanjang", status_code=303)


@router.post("/suket/{serial}/cabut", include_in_schema=False)
async def revoke(serial: str, request: Request, user: User = Depends(managers)):  # noqa: ANN201
    form = await request.form()
    try:
        with request.app.state.db.unit_of_work() as s:
            service.revoke_suket(s, settings=request.app.state.settings, serial=serial,
                                 reason=str(form.get("alasan", "")), actor=user.username, source_ip=_ip(request))
    except KtpelError as exc:
        return _detail(request, serial, error=exc, status=status_for(exc))
    return RedirectResponse(f"/suket/{serial}?ok=cabut", status_code=303)


@router.post("/suket-kebijakan", include_in_schema=False)
async def set_policy(request: Request, user: User = Depends(head)):  # noqa: ANN201
    """The head of office switches the policy; every officer sees it on the counter page."""
    form = await request.form()
    try:
        with request.app.state.db.unit_of_work() as s:
            service.set_policy(s, mode=str(form.get("mode", "")), listed=[str(v) for v in form.getlist("alasan")],
                               actor=user.username, source_ip=_ip(request))
    except KtpelError as exc:
        return _counter_page(request, error=exc, status=status_for(exc))
    return RedirectResponse("/suket?ok=kebijakan", status_code=303)


# --- JSON ---------------------------------------------------------------------------------------------

class IssueBody(BaseModel):
    nik: str
    reason: str


class RevokeBody(BaseModel):
    reason: str


class PolicyBody(BaseModel):
    mode: str
    listed: list[str] = []


def _as_dict(row, state: str) -> dict:  # noqa: ANN001
    return {"serial": row.serial, "nik": row.nik, "state": state, "status_code": row.status_code,
            "reason": row.reason, "valid_from": row.valid_from.isoformat(), "valid_until": row.valid_until.isoformat(),
            "renewals": row.renewals, "token": row.token, "issued_by": row.issued_by}


@router.get("/api/v1/suket/policy", tags=["suket"], dependencies=[Depends(officers)],
            response_model=SuketPolicyOut, response_model_exclude_unset=True)
def policy_api(request: Request) -> dict:
    with request.app.state.db.unit_of_work() as s:
        return service.current_policy(s).as_dict()


@router.put("/api/v1/suket/policy", tags=["suket"],
            response_model=SuketPolicyOut, response_model_exclude_unset=True)
def set_policy_api(body: PolicyBody, request: Request, user: User = Depends(head)) -> dict:
    with request.app.state.db.unit_of_work() as s:
        return service.set_policy(s, mode=body.mode, listed=body.listed, actor=user.username,
                                  source_ip=_ip(request)).as_dict()


@router.post("/api/v1/suket", tags=["suket"], status_code=201,
             response_model=SuketOut, response_model_exclude_unset=True)
def issue_api(body: IssueBody, request: Request, user: User = Depends(counter)) -> dict:
    """Issue a Suket: `{nik, reason}` (reason one of the listed codes)."""
    with request.app.state.db.unit_of_work() as s:
        row = service.issue_suket(s, settings=request.app.state.settings, nik=body.nik, reason=body.reason,
                                  actor=user.username, source_ip=_ip(request))
        return _as_dict(row, SuketState.ACTIVE.value)


@router.post("/api/v1/suket/{serial}/renew", tags=["suket"],
             response_model=SuketOut, response_model_exclude_unset=True)
def renew_api(serial: str, request: Request, user: User = Depends(counter)) -> dict:
    with request.app.state.db.unit_of_work() as s:
        row = service.renew_suket(s, settings=request.app.state.settings, serial=serial, actor=user.username,
                                  source_ip=_ip(request))
        return _as_dict(row, service.effective_state(row))


@router.post("/api/v1/suket/{serial}/revoke", tags=["suket"],
             response_model=SuketOut, response_model_exclude_unset=True)
def revoke_api(serial: str, body: RevokeBody, request: Request, user: User = Depends(managers)) -> dict:
    with request.app.state.db.unit_of_work() as s:
        row = service.revoke_suket(s, settings=request.app.state.settings, serial=serial, reason=body.reason,
                                   actor=user.username, source_ip=_ip(request))
        return _as_dict(row, service.effective_state(row))
