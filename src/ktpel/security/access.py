"""Who may call what: every route declares the roles it needs (or that it is public).

    @router.get("/cetak", dependencies=[Depends(requires(Role.OPERATOR, Role.SUPERVISOR))])
    def queue(request: Request, user: User = Depends(requires(Role.OPERATOR))): ...

    @router.get("/status", dependencies=[Depends(public)])

`request.state.user` is set by the session/token middleware of ktpel.security; `requires` reads it.
The role × route test walks every route and fails on one that declares neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from fastapi import HTTPException, Request


class Role(str, Enum):
    OPERATOR = "operator"  # petugas loket
    SUPERVISOR = "supervisor"
    HEAD = "head"  # Kadis, head of office
    ADJUDICATOR = "adjudicator"
    CENTER_ADMIN = "center_admin"
    AUDITOR = "auditor"


OFFICE_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.HEAD})
CENTRAL_ROLES = frozenset({Role.ADJUDICATOR, Role.CENTER_ADMIN})


@dataclass(frozen=True)
class User:
    """The signed-in user as routes see it."""

    id: int
    username: str
    role: Role
    # the regency an office user serves ("18.01"); None for central roles
    regency_code: str | None = None
    full_name: str = ""

    def has(self, *roles: Role) -> bool:
        return self.role in roles


def requires(*roles: Role):  # noqa: ANN201
    """A dependency that lets through only signed-in users holding one of `roles`."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> User:
        user: User | None = getattr(request.state, "user", None)
        if user is None:
            raise HTTPException(status_code=401, detail="authentication required")
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail="your role may not do this")
        return user

    dependency.__ktpel_roles__ = allowed  # type: ignore[attr-defined]
    return dependency


def public(request: Request) -> None:
    """Marks a route anyone may call (login page, resident status, card verification)."""


public.__ktpel_roles__ = None  # type: ignore[attr-defined]


def machine(request: Request) -> None:
    """Marks a route only other ktpel nodes call (sync), authenticated by their signature or mutual TLS.

    No user role may call it: the role × route test expects every signed-in user to be refused (401/403).
    """


machine.__ktpel_roles__ = frozenset()  # type: ignore[attr-defined]


def route_roles(route) -> frozenset[Role] | None | str:  # noqa: ANN001
    """The roles a route declared: a set, None for public, or 'undeclared'."""
    found: list = []
    for dep in getattr(route, "dependant", None).dependencies if getattr(route, "dependant", None) else []:
        stack = [dep]
        while stack:
            d = stack.pop()
            if d.call is not None and hasattr(d.call, "__ktpel_roles__"):
                found.append(d.call.__ktpel_roles__)
            stack.extend(d.dependencies)
    if not found:
        return "undeclared"
    if any(f is None for f in found):
        return None
    roles = frozenset(Role)
    for f in found:
        roles &= f
    return roles


@dataclass(frozen=True)
class RouteInfo:
    """One callable route of an app as the role × route test sees it."""

    path: str
    methods: frozenset[str]
    route: object  # has `.dependant` when it is an API route (route_roles reads it)


def iter_routes(app) -> list[RouteInfo]:  # noqa: ANN001
    """Every route of an app with its full path, including routers nested by include_router.

    FastAPI ≥0.16x keeps included routers as wrappers in `app.routes`; their effective routes carry the
    prefix and the router-level dependencies, which is what a request actually goes through.
    """
    out: list[RouteInfo] = []

    def walk(routes) -> None:  # noqa: ANN001
        for route in routes:
            if hasattr(route, "effective_candidates"):  # an included router
                walk(route.effective_candidates())
                continue
            target = getattr(route, "starlette_route", None) or route
            path = getattr(route, "path", "") or getattr(target, "path", "")
            methods = getattr(route, "methods", None) or getattr(target, "methods", None) or set()
            out.append(RouteInfo(path=path, methods=frozenset(methods), route=route))

    walk(app.routes)
    return out
