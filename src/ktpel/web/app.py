"""The FastAPI app factory for the office and the central side.

What each side serves is declared by its composition module (`ktpel.office.composition`,
`ktpel.central.composition`): the factory only builds the app around it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ktpel.central import composition as central
from ktpel.config import Settings, get_settings
from ktpel.office import composition as office
from ktpel.security import web as security_web
from ktpel.store.db import Database, open_database
from ktpel.office.sync import banner
from ktpel.web import openapi, problems

Side = Literal["office", "central"]


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
    security_web.install(app, side=side)
    banner.install(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    if side == "office":
        app.state.resident_panels = office.RESIDENT_PANELS  # the resident page's parts other capabilities own
    if side == "central":
        app.state.intake = central.INTAKE  # the packet handlers central's sync intake runs
    for router in (office if side == "office" else central).ROUTERS:
        app.include_router(router)
    openapi.install(app)
    return app


def office_app() -> FastAPI:
    """The office app from KTPEL_* settings (uvicorn's factory for `ktpel office serve --workers N`)."""
    return create_app(side="office")
