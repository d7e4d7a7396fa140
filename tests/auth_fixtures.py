"""Real sign-in for tests: users in the test database, a logged-in TestClient with its CSRF token.

    from tests.auth_fixtures import authed_client, make_user, login
    client = authed_client(app, db, Role.OPERATOR)
    client.post("/x", data={"csrf_token": client.csrf, ...})      # forms
    client.post("/api/v1/x", json=..., headers={"X-CSRF-Token": client.csrf})

Also as fixtures: `make_user_fn`, `authed` (authed(app, role) with the test's `db`).
"""

from __future__ import annotations

import itertools
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from ktpel.security.access import CENTRAL_ROLES, Role

_counter = itertools.count(1)
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def make_user(db, *, role: Role, regency_code: str | None = "18.01", username: str | None = None,  # noqa: ANN001
              password: str | None = None) -> tuple[str, str]:
    """Create a user of `role` (central roles get no regency); returns (username, password)."""
    from ktpel.security import service

    role = Role(role)
    name = username or f"{role.value}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
    with db.unit_of_work() as s:
        _, pw = service.add_user(s, username=name, role=role, password=password,
                                 regency_code=None if role in CENTRAL_ROLES else regency_code, actor="test")
    return name, pw


def login_form_token(client: TestClient) -> str:
    page = client.get("/masuk")
    found = _CSRF_FIELD.search(page.text)
    assert found, f"no csrf_token on the sign-in page (status {page.status_code})"
    return found.group(1)


def login(client: TestClient, username: str, password: str):  # noqa: ANN201
    """Sign in through the real form (with its CSRF token); sets client.csrf; returns the POST response."""
    token = login_form_token(client)
    resp = client.post("/masuk", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/api/v1/me"}, follow_redirects=False)
    if resp.status_code == 303:
        me = client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        client.csrf = me.json()["csrf_token"]
    return resp


def authed_client(app, db, role: Role, *, regency_code: str | None = None) -> TestClient:  # noqa: ANN001
    """A TestClient signed in as a new user of `role`; `.csrf` holds the session's CSRF token.

    Office-side users get the app's office regency unless another is given; central users none.
    """
    role = Role(role)
    if regency_code is None and app.state.side == "office":
        regency_code = app.state.settings.office_regency
    username, password = make_user(db, role=role, regency_code=regency_code)
    client = TestClient(app)
    resp = login(client, username, password)
    assert resp.status_code == 303, f"sign-in as {role.value} failed: {resp.status_code} {resp.text[:300]}"
    client.username = username
    client.role = role
    return client


@pytest.fixture
def make_user_fn(db):
    def make(*, role: Role, regency_code: str | None = "18.01") -> tuple[str, str]:
        return make_user(db, role=role, regency_code=regency_code)
    return make


@pytest.fixture
def authed(db):
    def make(app, role: Role, **kw) -> TestClient:  # noqa: ANN001
        return authed_client(app, db, role, **kw)
    return make
