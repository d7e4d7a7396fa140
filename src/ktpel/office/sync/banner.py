"""Fills `request.state.banner` on every office page with the outage or maintenance state."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from ktpel.office.sync.outage import banner_for, current_state

log = logging.getLogger("ktpel.office.sync.banner")


def install(app: FastAPI) -> None:
    """Add the banner middleware to the office app (central shows none)."""

    @app.middleware("http")
    async def _banner(request: Request, call_next):  # noqa: ANN001, ANN202
        path = request.url.path
        if request.app.state.side == "office" and not path.startswith(("/static", "/api/")):
            try:
                # a blocking database read: off the event loop
                request.state.banner = await run_in_threadpool(_banner_of, request.app.state.db)
            except Exception:  # noqa: BLE001 - a page must render even if the sync tables are not there
                log.exception("outage banner unavailable")
        return await call_next(request)


def _banner_of(db) -> dict | None:  # noqa: ANN001
    with db.unit_of_work() as s:
        return banner_for(current_state(s))
