"""Role × route: every route of both apps declares who may call it, and exactly those roles get through.

New routes are picked up automatically (the walk reads app.routes), so a route without `requires(...)`
or `public` fails here. Each role is a real user signed in through /masuk; path parameters get dummy
values; any answer other than 401/403 counts as "let through" (404/422 included).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ktpel.security.access import CENTRAL_ROLES, OFFICE_ROLES, Role, iter_routes, route_roles
from ktpel.web.app import create_app
from tests.auth_fixtures import login, login_form_token, make_user

SKIP_PREFIXES = ("/docs", "/openapi.json", "/redoc", "/static")
# who can be signed in at all on each side (others are anonymous there and must be refused everywhere)
SIGNABLE = {"office": [*sorted(OFFICE_ROLES, key=lambda r: r.value), Role.AUDITOR],
            "central": [*sorted(CENTRAL_ROLES, key=lambda r: r.value), Role.AUDITOR]}
REFUSED = (401, 403)
# requests come from loopback, as on a counter PC (some public routes, e.g. /metrics, are loopback-only)
LOOPBACK = ("127.0.0.1", 50000)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(app) -> list[tuple[str, str, object]]:  # noqa: ANN001
    out = []
    for info in iter_routes(app):
        if info.path.startswith(SKIP_PREFIXES):
            continue
        assert info.methods, f"{info.path}: a route without HTTP methods (websocket/mount?) is not covered"
        for method in sorted(info.methods - {"HEAD"}):
            out.append((method, info.path, info.route))
    # signing out last, so it does not end the session the other requests use
    return sorted(out, key=lambda r: (r[1] == "/keluar", r[1], r[0]))


def _call(client: TestClient, method: str, path: str, csrf: str | None):  # noqa: ANN202
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.request(method, _concrete(path), headers=headers, follow_redirects=False)


@pytest.mark.parametrize("side", ["office", "central"])
def test_every_route_declares_roles_and_enforces_exactly_them(settings, db, side):
    app = create_app(settings=settings, side=side, db=db)
    routes = _routes(app)
    undeclared = [f"{m} {p}" for m, p, r in routes if route_roles(r) == "undeclared"]
    assert not undeclared, f"routes without requires(...) or public: {undeclared}"

    accounts = {}
    for role in SIGNABLE[side]:
        regency = settings.office_regency if side == "office" and role is not Role.AUDITOR else None
        if side == "office" and role is Role.AUDITOR:
            regency = settings.office_regency
        accounts[role] = make_user(db, role=role, regency_code=regency)

    def signed_in(role: Role) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False, client=LOOPBACK)
        resp = login(client, *accounts[role])
        assert resp.status_code == 303, f"{role.value} cannot sign in on {side}: {resp.status_code}"
        return client

    clients = {role: signed_in(role) for role in SIGNABLE[side]}
    anonymous = TestClient(app, raise_server_exceptions=False, client=LOOPBACK)
    # an anonymous browser holds the sign-in form's CSRF token (public forms need it too)
    anonymous_csrf = login_form_token(anonymous)
    wrong = []
    for method, path, route in routes:
        declared = route_roles(route)
        allowed = set(Role) if declared is None else set(declared)
        for role in Role:
            if role in clients:
                client = clients[role]
                resp = _call(client, method, path, client.csrf)
                # a state-changing route may have signed us out (/keluar): sign in again
                if method != "GET" and client.get("/api/v1/me").status_code != 200:
                    clients[role] = signed_in(role)
            else:  # a role that cannot sign in on this side is anonymous here
                resp = _call(anonymous, method, path, anonymous_csrf)
                role_allowed_here = declared is None
                if (resp.status_code in REFUSED or resp.status_code == 303 and
                        resp.headers.get("location", "").startswith("/masuk?next=")) == role_allowed_here:
                    wrong.append(f"{method} {path} as {role.value} (not signable on {side}): {resp.status_code}")
                continue
            refused = resp.status_code in REFUSED
            if refused == (role in allowed):
                hint = (" (a route only ktpel nodes call should declare `machine`, not `public`)"
                        if declared is None else "")
                wrong.append(f"{method} {path} as {role.value}: {resp.status_code}, declared "
                             f"{'public' if declared is None else sorted(r.value for r in declared)}{hint}")
        if declared is not None and method == "GET":
            anon = _call(anonymous, method, path, None)
            to_login = anon.status_code == 303 and anon.headers["location"].startswith("/masuk?next=")
            assert anon.status_code == 401 or to_login, f"GET {path} anonymous: {anon.status_code}"
    assert not wrong, "role × route mismatches:\n" + "\n".join(wrong)
