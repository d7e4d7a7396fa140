"""Sign-in, sessions, CSRF, API tokens, headers and body limits over real HTTP (TestClient), on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from ktpel.security import service
from ktpel.security.access import Role
from ktpel.security.audit import verify_chain
from ktpel.store.schema.security import ApiTokenRow, AuditEntryRow, WebSessionRow
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client, login, login_form_token, make_user
from ktpel.domain.clock import now as clock_now


@pytest.fixture
def app(settings, db):
    return create_app(settings=settings, side="office", db=db)


def _audit(db, action: str) -> list[AuditEntryRow]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEntryRow).where(AuditEntryRow.action == action).order_by(AuditEntryRow.seq)))


def test_login_page_is_indonesian_and_sets_a_fresh_httponly_session(app, db):
    user, pw = make_user(db, role=Role.OPERATOR)
    client = TestClient(app)
    page = client.get("/masuk")
    assert page.status_code == 200
    assert "Nama pengguna" in page.text and "Kata sandi" in page.text and 'name="csrf_token"' in page.text
    resp = login(client, user, pw)
    assert resp.status_code == 303
    cookie = [h for h in resp.headers.get_list("set-cookie") if h.startswith("ktpel_office_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain HTTP on loopback; see the TLS test for Secure
    me = client.get("/api/v1/me").json()
    assert me["username"] == user and me["role"] == "operator" and me["regency_code"] == "18.01"
    assert [e.actor for e in _audit(db, "login.ok")] == [user]


def test_wrong_password_is_refused_logged_and_locks_after_five(app, db, settings):
    user, pw = make_user(db, role=Role.SUPERVISOR)
    client = TestClient(app)
    for _ in range(settings.login_max_failures):
        resp = login(client, user, "wrong-password-x")
        assert resp.status_code == 200 and "Nama pengguna atau kata sandi salah" in resp.text
        assert "ktpel_office_session" not in client.cookies
    locked = login(client, user, pw)  # even the right password is refused while locked
    assert locked.status_code == 429 and "Terlalu banyak percobaan" in locked.text
    assert len(_audit(db, "login.failed")) == settings.login_max_failures
    assert len(_audit(db, "login.locked")) == 1
    # an administrator's reset lifts the lockout
    with db.unit_of_work() as s:
        new = service.reset_password(s, username=user, actor="admin")
    assert login(client, user, new).status_code == 303


def test_unknown_user_and_sql_injection_in_login_are_plain_failures(app, db):
    client = TestClient(app)
    for name in ("nobody", "' OR '1'='1' --", "admin'--", "<script>alert(1)</script>"):
        resp = login(client, name, "' OR '1'='1")
        assert resp.status_code == 200 and "kata sandi salah" in resp.text
        assert "<script>alert(1)</script>" not in resp.text
    assert len(_audit(db, "login.failed")) == 4


def test_session_fixation_a_planted_cookie_is_never_promoted(app, db):
    user, pw = make_user(db, role=Role.OPERATOR)
    client = TestClient(app)
    planted = "attacker-chosen-session-id"
    client.cookies.set("ktpel_office_session", planted, domain="testserver.local")
    resp = login(client, user, pw)
    assert resp.status_code == 303
    issued = client.cookies.get("ktpel_office_session")
    assert issued and issued != planted
    # the planted id does not authenticate anyone
    attacker = TestClient(app)
    attacker.cookies.set("ktpel_office_session", planted, domain="testserver.local")
    assert attacker.get("/api/v1/me").status_code == 401
    # and each sign-in gets a new id
    second = TestClient(app)
    login(second, user, pw)
    assert second.cookies.get("ktpel_office_session") != issued


def test_logout_ends_the_session_server_side(app, db):
    client = authed_client(app, db, Role.OPERATOR)
    stolen = client.cookies.get("ktpel_office_session")
    no_token = client.post("/keluar", follow_redirects=False)
    assert no_token.status_code == 403  # logout is CSRF-protected too
    out = client.post("/keluar", data={"csrf_token": client.csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/masuk")
    replay = TestClient(app)
    replay.cookies.set("ktpel_office_session", stolen, domain="testserver.local")
    assert replay.get("/api/v1/me").status_code == 401
    assert len(_audit(db, "logout")) == 1


def test_idle_session_expires(app, db, settings):
    client = authed_client(app, db, Role.HEAD)
    with db.unit_of_work() as s:
        s.execute(update(WebSessionRow).values(
            last_seen_at=clock_now() - dt.timedelta(minutes=settings.session_idle_minutes + 1)))
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/penduduk", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/masuk?next=%2Fpenduduk"


def test_csrf_missing_or_wrong_token_is_refused_and_logged(app, db):
    client = authed_client(app, db, Role.OPERATOR)
    assert client.post("/keluar", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    api = client.post("/api/v1/me", headers={"X-CSRF-Token": "nope"})
    assert api.status_code == 403 and api.json()["code"] == "csrf_failed"
    # the login form itself is protected (login CSRF)
    anon = TestClient(app)
    assert anon.post("/masuk", data={"username": "x", "password": "y"}).status_code == 403
    assert len(_audit(db, "csrf.rejected")) == 3
    # with the session's token the same request passes CSRF (405: /api/v1/me has no POST)
    assert client.post("/api/v1/me", headers={"X-CSRF-Token": client.csrf}).status_code == 405


def test_security_headers_on_every_answer(app, db):
    client = TestClient(app)
    for path in ("/masuk", "/api/v1/health", "/static/style.css", "/nope"):
        resp = client.get(path)
        csp = resp.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
    assert "default-src 'self'" in client.get("/masuk").headers["content-security-policy"]
    assert client.get("/masuk").headers["cache-control"] == "no-store"


def test_oversized_body_gets_413_with_a_clear_message(app, db, settings):
    client = authed_client(app, db, Role.OPERATOR)
    big = b"x" * (settings.max_body_mb * 1024 * 1024 + 1)
    resp = client.post("/api/v1/me", content=big, headers={"X-CSRF-Token": client.csrf,
                                                            "content-type": "application/octet-stream"})
    assert resp.status_code == 413 and "too large" in resp.json()["detail"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(settings.max_body_mb + 1):
            yield b"y" * (1024 * 1024)
    streamed = client.post("/api/v1/me", content=chunks(), headers={"X-CSRF-Token": client.csrf})
    assert streamed.status_code == 413
    # a bearer-token client (no CSRF, body not needed for a token check) is bounded just the same
    with db.unit_of_work() as s:
        _, secret = service.issue_token(s, username=client.username)
    api = TestClient(app)
    by_token = api.post("/api/v1/me", content=chunks(), headers={"Authorization": f"Bearer {secret}"})
    assert by_token.status_code == 413 and by_token.json()["code"] == "body_too_large"
    assert len(_audit(db, "request.too_large")) == 3
    # NUL characters (PostgreSQL refuses them in text) are a 400, not a crash
    nul = api.post("/api/v1/me", content=b'{"q": "a\\u0000b"}',
                   headers={"Authorization": f"Bearer {secret}", "content-type": "application/json"})
    assert nul.status_code == 400 and nul.json()["code"] == "bad_characters"
    assert api.get("/api/v1/me?x=%00", headers={"Authorization": f"Bearer {secret}"}).status_code == 400


def test_bearer_tokens_work_and_forged_expired_revoked_are_refused(app, db):
    user, _ = make_user(db, role=Role.SUPERVISOR)
    with db.unit_of_work() as s:
        token, secret = service.issue_token(s, username=user, days=30, label="test")
        with pytest.raises(Exception):
            service.issue_token(s, username="nobody")
    with db.unit_of_work() as s:
        stored = s.scalar(select(ApiTokenRow.token_hash).where(ApiTokenRow.id == token.id))
    assert secret not in stored and len(stored) == 64  # only the hash is at rest
    api = TestClient(app)
    ok = api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200 and ok.json()["username"] == user and "csrf_token" not in ok.json()
    # bearer calls need no CSRF token
    assert api.post("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 405
    forged = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    for bad in (forged, "ktp_" + "A" * 43, "not-a-token", ""):
        r = api.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    with db.unit_of_work() as s:
        s.execute(update(ApiTokenRow).where(ApiTokenRow.id == token.id)
                  .values(expires_at=clock_now() - dt.timedelta(seconds=1)))
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with db.unit_of_work() as s:
        s.execute(update(ApiTokenRow).where(ApiTokenRow.id == token.id)
                  .values(expires_at=clock_now() + dt.timedelta(days=1)))
        service.revoke_token(s, token_id=token.id, actor="admin")
    # a replay of the revoked token is refused
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    reasons = [e.after_digest is not None for e in _audit(db, "token.rejected")]
    assert len(reasons) == 6


def test_disabling_a_user_ends_sessions_and_tokens(app, db):
    client = authed_client(app, db, Role.OPERATOR)
    with db.unit_of_work() as s:
        _, secret = service.issue_token(s, username=client.username)
        service.disable_user(s, username=client.username, actor="admin")
    assert client.get("/api/v1/me").status_code == 401
    assert TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(WebSessionRow).where(WebSessionRow.ended_at.is_(None))) == 0


def test_users_of_another_office_and_central_users_cannot_sign_in_here(app, db, settings):
    other, pw = make_user(db, role=Role.OPERATOR, regency_code="18.02")
    client = TestClient(app)
    resp = login(client, other, pw)
    assert resp.status_code == 200 and "tidak berlaku di kantor ini" in resp.text
    assert "ktpel_office_session" not in client.cookies
    adj, pw2 = make_user(db, role=Role.ADJUDICATOR)
    assert "tidak berlaku" in login(TestClient(app), adj, pw2).text
    with db.unit_of_work() as s:
        _, secret = service.issue_token(s, username=other)
    assert TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert len(_audit(db, "login.wrong_office")) == 2
    # the central app takes the adjudicator, not the office operator
    central = create_app(settings=settings, side="central", db=db)
    assert login(TestClient(central), adj, pw2).status_code == 303
    assert login(TestClient(central), other, pw).status_code == 200  # the form again, not signed in


def test_open_redirect_through_next_is_refused(app, db):
    user, pw = make_user(db, role=Role.OPERATOR)
    client = TestClient(app)
    token = login_form_token(client)
    resp = client.post("/masuk", data={"username": user, "password": pw, "csrf_token": token,
                                       "next": "//evil.example/phish"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"


def test_operator_calling_auditor_pages_is_forbidden_and_logged(app, db):
    op = authed_client(app, db, Role.OPERATOR)
    assert op.get("/audit").status_code == 403
    assert op.get("/api/v1/audit").status_code == 403
    denied = _audit(db, "access.denied")
    assert [e.subject for e in denied] == ["GET /audit", "GET /api/v1/audit"]
    assert all(e.actor == op.username for e in denied)
    with db.unit_of_work() as s:
        assert verify_chain(s).ok
