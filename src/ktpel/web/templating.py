"""Jinja2 templates with the page language and shared context."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from ktpel.web.i18n import lang_of, translate

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# capabilities add their template folders here (office/printing/templates, …)
def add_template_dir(path: Path) -> None:
    loader = templates.env.loader
    searchpath = getattr(loader, "searchpath", None)
    if searchpath is not None and str(path) not in searchpath:
        searchpath.append(str(path))


def render(request: Request, name: str, context: dict | None = None, *, status_code: int = 200):  # noqa: ANN201
    lang = lang_of(request)
    ctx = {
        "lang": lang,
        "t": lambda key: translate(key, lang),
        "settings": getattr(request.app.state, "settings", None),
        "side": getattr(request.app.state, "side", "office"),
        "user": getattr(request.state, "user", None),
        "banner": getattr(request.state, "banner", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
