"""Wiring the security baseline into an app: the middleware and the sign-in/auditor routes."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI, *, side: str) -> None:
    """Add the session/token/CSRF/header middleware and the security pages to one side's app."""
    from ktpel.security.middleware import SecurityMiddleware
    from ktpel.security.views import router

    app.add_middleware(SecurityMiddleware, side=side)
    app.include_router(router)
