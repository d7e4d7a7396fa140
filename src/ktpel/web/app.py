"""The FastAPI app factory for the office and the central side."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from ktpel.config import Settings, get_settings
from ktpel.store.db import Database, open_database
from ktpel.web import problems

Side = Literal["office", "central"]

# Each capability contributes an APIRouter named `router` in its views module.
ROUTERS: dict[str, list[str]] = {
    "office": [
        "ktpel.web.views",
        "ktpel.office.residents.views",
        "ktpel.office.notices.views",
        "ktpel.office.public.views",
        "ktpel.office.enrollment.views",
        "ktpel.sync.office_views",
        "ktpel.central.resolution.office_views",
        "ktpel.reports.views",
        "ktpel.reports.metrics",
        "ktpel.office.printing.views",
        "ktpel.office.suket.views",
        "ktpel.office.ikd.views",
        "ktpel.office.transparency.views",
        "ktpel.office.kit.views",
    ],
    "central": [
        "ktpel.web.views",
        "ktpel.sync.central_views",
        "ktpel.reports.central_views",
        "ktpel.central.adjudication.views",
        "ktpel.central.pipeline.views",
        "ktpel.central.resolution.views",
        "ktpel.reports.metrics",
        "ktpel.central.allocation.views",
        "ktpel.central.allocation.loan_views",
    ],
}


def create_app(*, settings: Settings | None = None, side: Side = "office", db: Database | None = None) -> FastAPI:
    """Build the web app of one side over its database."""
    settings = settings or get_settings()
    db = db or open_database(settings, name=side)
    app = FastAPI(
        title=f"ktpel {side}",
        description="KTP-El chain: " + ("regency office counter" if side == "office" else "central data center"),
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.side = side
    problems.install(app)
    importlib.import_module("ktpel.security.web").install(app, side=side)
    importlib.import_module("ktpel.sync.banner").install(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    for module in ROUTERS[side]:
        app.include_router(importlib.import_module(module).router)
    return app


def db_of(request: Request) -> Database:
    return request.app.state.db


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
