"""route_roles / iter_routes see declarations through nested routers; `machine` admits no user role."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from ktpel.security.access import Role, User, iter_routes, machine, public, requires, route_roles


def _app() -> FastAPI:
    inner = APIRouter()

    @inner.get("/a", dependencies=[Depends(requires(Role.OPERATOR, Role.HEAD))])
    def a() -> dict:
        return {}

    @inner.get("/b")
    def b(user: User = Depends(requires(Role.AUDITOR))) -> dict:
        return {}

    @inner.post("/sync", dependencies=[Depends(machine)])
    def sync() -> dict:
        return {}

    @inner.get("/open", dependencies=[Depends(public)])
    def open_() -> dict:
        return {}

    @inner.get("/forgot")
    def forgot() -> dict:
        return {}

    outer = APIRouter(prefix="/x", dependencies=[Depends(requires(Role.OPERATOR, Role.SUPERVISOR, Role.AUDITOR))])
    outer.include_router(inner)
    app = FastAPI()
    app.include_router(outer)
    app.include_router(inner)
    return app


def test_declarations_are_found_through_prefixes_and_router_dependencies():
    found = {(r.path, tuple(sorted(r.methods))): route_roles(r.route) for r in iter_routes(_app())}
    assert found[("/a", ("GET",))] == {Role.OPERATOR, Role.HEAD}
    assert found[("/x/a", ("GET",))] == {Role.OPERATOR}  # router-level roles intersect with the route's
    assert found[("/b", ("GET",))] == {Role.AUDITOR}
    assert found[("/sync", ("POST",))] == frozenset()
    assert found[("/open", ("GET",))] is None
    assert found[("/forgot", ("GET",))] == "undeclared"
    assert found[("/x/forgot", ("GET",))] == {Role.OPERATOR, Role.SUPERVISOR, Role.AUDITOR}
