"""Routes every side has: home, language switch, health."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from ktpel.security.access import public
from ktpel.web.i18n import LANGS

router = APIRouter()


@router.get("/", include_in_schema=False, dependencies=[Depends(public)])
def home(request: Request) -> RedirectResponse:
    side = request.app.state.side
    from ktpel.web.nav import landing_for

    # the first page the role can open: an auditor lands on the audit trail, not on a 403
    user = getattr(request.state, "user", None)
    return RedirectResponse(landing_for(request.app, side=side, user=user), status_code=303)


@router.get("/lang/{code}", include_in_schema=False, dependencies=[Depends(public)])
def switch_language(code: str, request: Request, next: str = "/") -> RedirectResponse:
    """Set the page language (id or en) and go back."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, status_code=303)
    if code in LANGS:
        resp.set_cookie("lang", code, max_age=365 * 86400, httponly=True, samesite="lax")
    return resp


class Health(BaseModel):
    """`GET /api/v1/health`: the side answers and its database does too."""

    status: Literal["ok"]
    side: Literal["office", "central"]


@router.get("/api/v1/health", tags=["system"], dependencies=[Depends(public)], response_model=Health)
def health(request: Request) -> dict:
    """Liveness: the side and whether its database answers."""
    from sqlalchemy import text

    with request.app.state.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "side": request.app.state.side}
