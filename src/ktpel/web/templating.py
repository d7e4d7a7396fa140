"""Jinja2 templates with the page language and shared context."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from ktpel.domain.zones import WIB, Zone, to_local, zone_of_region
from ktpel.web.i18n import lang_of, translate
from ktpel.web.labels import label, reason_text

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# capabilities add their template folders here (office/printing/templates, …)
def add_template_dir(path: Path) -> None:
    loader = templates.env.loader
    searchpath = getattr(loader, "searchpath", None)
    if searchpath is not None and str(path) not in searchpath:
        searchpath.append(str(path))


def _instant(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


@pass_context
def waktu(ctx, value: object, fmt: str = "%d-%m-%Y %H:%M") -> str:  # noqa: ANN001
    """An instant in the office's zone with the zone's name: "03-12-2026 17:05 WIB"; never raw ISO."""
    at = _instant(value)
    if at is None:
        return "–" if value in (None, "") else str(value)
    zone: Zone = ctx.get("zone") or WIB
    return f"{to_local(at, zone=zone).strftime(fmt)} {zone.name}"


def tanggal(value: object) -> str:
    """A calendar date as DD-MM-YYYY."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d-%m-%Y")
    return "–"


@pass_context
def label_filter(ctx, code: object) -> str:  # noqa: ANN001
    return label(code, ctx.get("lang", "id"))


@pass_context
def reason_filter(ctx, code: object) -> str:  # noqa: ANN001
    return reason_text(str(code), ctx.get("lang", "id"))


templates.env.filters["waktu"] = waktu
templates.env.filters["tanggal"] = tanggal
templates.env.filters["label"] = label_filter
templates.env.filters["alasan"] = reason_filter


def zone_for(request: Request) -> Zone:
    """The office's zone (from its region code); the data center keeps WIB (Jakarta)."""
    side = getattr(request.app.state, "side", "office")
    settings = getattr(request.app.state, "settings", None)
    if side == "office" and settings is not None:
        return zone_of_region(getattr(settings, "office_regency", None))
    return WIB


def render(request: Request, name: str, context: dict | None = None, *, status_code: int = 200):  # noqa: ANN201
    from ktpel.web.nav import menu_for

    lang = lang_of(request)
    side = getattr(request.app.state, "side", "office")
    user = getattr(request.state, "user", None)
    ctx = {
        "lang": lang,
        "t": lambda key: translate(key, lang),
        "settings": getattr(request.app.state, "settings", None),
        "side": side,
        "user": user,
        "menu": menu_for(request.app, side=side, user=user),
        "zone": zone_for(request),
        "banner": getattr(request.state, "banner", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
