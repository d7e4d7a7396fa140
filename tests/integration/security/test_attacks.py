"""Attacks from the issue: injection and XSS (reflected and stored), path traversal on every download route,
another office's resident by URL/API, role escalation, brute force. All refused, all logged, no crash."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from ktpel.domain.clock import today_wib
from ktpel.security.access import CENTRAL_ROLES, OFFICE_ROLES, Role, iter_routes, route_roles
from ktpel.seeding.service import seed_district
from ktpel.store.schema.core import ResidentRow
from ktpel.store.schema.security import AuditEntryRow
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client, login, login_form_token, make_user

XSS = "<script>alert(1)</script>"
HOSTILE = ["../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", XSS, "' OR '1'='1' --",
           "1; DROP TABLE residents; --", "%00", "1" * 300]
LOOPBACK = ("127.0.0.1", 50000)


def _audit(db, action: str) -> list[AuditEntryRow]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEntryRow).where(AuditEntryRow.action == action).order_by(AuditEntryRow.seq)))


@pytest.fixture
def two_regencies(db, regions, names):
    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=40, seed=3,
                  today=today_wib())
    seed_district(db, regions=regions, names=names, regency_code="18.02", residents=40, seed=4,
                  today=today_wib())
    with db.unit_of_work() as s:
        mine = s.scalars(select(ResidentRow).where(ResidentRow.regency_code == "18.01").limit(1)).one()
        theirs = s.scalars(select(ResidentRow).where(ResidentRow.regency_code == "18.02").limit(1)).one()
    return mine, theirs


def test_office_a_cannot_see_office_b_resident_by_url_or_api(settings, db, two_regencies):
    mine, theirs = two_regencies
    app = create_app(settings=settings, side="office", db=db)
    op = authed_client(app, db, Role.OPERATOR)
    assert op.get(f"/penduduk/{mine.nik}").status_code == 200
    page = op.get(f"/penduduk/{theirs.nik}")
    assert page.status_code == 404 and theirs.name not in page.text
    api = op.get("/api/v1/residents", params={"q": theirs.nik})
    assert api.status_code == 200 and api.json()["total"] == 0
    by_name = op.get("/api/v1/residents", params={"q": theirs.name}).json()
    assert theirs.nik not in {i["nik"] for i in by_name.get("items", [])}
    probes = [e.subject for e in _audit(db, "access.not_found")]
    assert f"GET /penduduk/{theirs.nik}" in probes and all(e.actor == op.username
                                                          for e in _audit(db, "access.not_found"))
    # a user of office B cannot sign in here at all, nor use a token here
    other, pw = make_user(db, role=Role.HEAD, regency_code="18.02")
    outsider = TestClient(app)
    login(outsider, other, pw)
    assert outsider.get(f"/penduduk/{theirs.nik}", follow_redirects=False).status_code == 303


def test_reflected_and_stored_xss_are_escaped(settings, db, two_regencies):
    mine, _ = two_regencies
    with db.unit_of_work() as s:  # stored: a hostile name reaches the database (as from a form)
        s.execute(update(ResidentRow).where(ResidentRow.id == mine.id).values(name=XSS + " BUDI"))
    app = create_app(settings=settings, side="office", db=db)
    op = authed_client(app, db, Role.OPERATOR)
    for resp in (op.get(f"/penduduk/{mine.nik}"), op.get("/penduduk", params={"q": mine.nik}),
                 op.get("/penduduk", params={"q": XSS}), op.get("/masuk", params={"next": XSS}),
                 op.get("/penduduk", params={"q": "budi", "lahir": XSS})):
        assert resp.status_code in (200, 303, 400, 404), resp.status_code
        assert XSS not in resp.text
    assert "&lt;script&gt;" in op.get(f"/penduduk/{mine.nik}").text
    # stored via the audit trail: a hostile username on the sign-in form, then the auditor's page
    anon = TestClient(app)
    login(anon, "<img src=x onerror=alert(1)>", "x")
    auditor = authed_client(app, db, Role.AUDITOR)
    page = auditor.get("/audit", params={"action": "login.failed"})
    assert page.status_code == 200 and "<img src=x" not in page.text and "&lt;img src=x" in page.text
    reflected = auditor.get("/audit", params={"actor": XSS, "subject": "' OR '1'='1"})
    assert reflected.status_code == 200 and XSS not in reflected.text
    assert "<strong id=\"total\">0</strong>" in reflected.text


def test_sql_injection_in_search_boxes_finds_nothing_and_breaks_nothing(settings, db, two_regencies):
    app = create_app(settings=settings, side="office", db=db)
    op = authed_client(app, db, Role.OPERATOR)
    for q in ("' OR '1'='1", "1' UNION SELECT nik, name FROM residents --", "%", "_", "180101%' --",
              "'; DROP TABLE residents; --"):
        api = op.get("/api/v1/residents", params={"q": q})
        assert api.status_code in (200, 400) and (api.status_code == 400 or api.json()["total"] == 0)
        assert op.get("/penduduk", params={"q": q}).status_code == 200
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ResidentRow)) == 80


def _signed_in_clients(app, db, side: str) -> dict:  # noqa: ANN001
    roles = [*(OFFICE_ROLES if side == "office" else CENTRAL_ROLES), Role.AUDITOR]
    clients = {}
    for role in roles:
        regency = app.state.settings.office_regency if side == "office" else None
        username, password = make_user(db, role=role, regency_code=regency)
        client = TestClient(app, raise_server_exceptions=False, client=LOOPBACK)
        assert login(client, username, password).status_code == 303
        clients[role] = client
    anonymous = TestClient(app, raise_server_exceptions=False, client=LOOPBACK)
    anonymous.csrf = login_form_token(anonymous)
    return clients, anonymous


@pytest.mark.parametrize("side", ["office", "central"])
def test_hostile_path_parameters_on_every_get_route_never_crash_or_leak(settings, db, side, tmp_path):
    """Path traversal, XSS and SQL in every path parameter of every GET route (downloads included)."""
    app = create_app(settings=settings, side=side, db=db)
    clients, anonymous = _signed_in_clients(app, db, side)
    problems = []
    for info in iter_routes(app):
        if "GET" not in info.methods or "{" not in info.path or info.path.startswith(("/docs", "/redoc")):
            continue
        declared = route_roles(info.route)
        client = anonymous if declared is None else next(
            (c for r, c in clients.items() if r in declared), None)
        if client is None:
            continue
        for payload in HOSTILE:
            for encoded in {quote(payload, safe=""), quote(payload, safe="/\\")}:
                url = re.sub(r"\{[^}]+\}", lambda _m: encoded, info.path)
                resp = client.get(url, follow_redirects=False)
                if resp.status_code >= 500:
                    problems.append(f"{url}: {resp.status_code}")
                if "root:x:0:0" in resp.text or "[fonts]" in resp.text:
                    problems.append(f"{url}: leaked a file")
                if XSS in resp.text and "html" in resp.headers.get("content-type", ""):
                    problems.append(f"{url}: reflected script")
    assert not problems, "\n".join(problems)
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ResidentRow)) is not None  # table still there


def test_role_escalation_is_forbidden_and_logged(settings, db):
    office = create_app(settings=settings, side="office", db=db)
    op = authed_client(office, db, Role.OPERATOR)
    sup = authed_client(office, db, Role.SUPERVISOR)
    assert op.post("/blanko/terima", data={"csrf_token": op.csrf}).status_code == 403  # supervisor/head action
    assert sup.post("/cetak/aturan-hadir", data={"csrf_token": sup.csrf}).status_code == 403  # head only
    assert op.get("/audit/ekspor.csv").status_code == 403
    central = create_app(settings=settings, side="central", db=db)
    admin = authed_client(central, db, Role.CENTER_ADMIN)
    adj = authed_client(central, db, Role.ADJUDICATOR)
    assert admin.post("/api/v1/adjudications/1/decision", json={}, headers={"X-CSRF-Token": admin.csrf}).status_code == 403
    assert adj.post("/api/v1/pipeline/jobs/1/retry", headers={"X-CSRF-Token": adj.csrf}).status_code == 403
    denied = {(e.actor, e.subject) for e in _audit(db, "access.denied")}
    assert (op.username, "POST /blanko/terima") in denied
    assert (sup.username, "POST /cetak/aturan-hadir") in denied
    assert (admin.username, "POST /api/v1/adjudications/1/decision") in denied
    assert (adj.username, "POST /api/v1/pipeline/jobs/1/retry") in denied
    # an operator of the office cannot sign in to the central app at all
    name, pw = make_user(db, role=Role.OPERATOR)
    c = TestClient(central)
    login(c, name, pw)
    assert c.get("/api/v1/me").status_code == 401


def test_password_spraying_from_one_address_is_throttled(settings, db):
    app = create_app(settings=settings, side="office", db=db)
    real, pw = make_user(db, role=Role.OPERATOR)
    client = TestClient(app)
    statuses = [login(client, f"guess{i}", "Password123!").status_code for i in range(4 * settings.login_max_failures)]
    assert set(statuses) == {200}
    # the address is now throttled, even for a real account with its right password
    assert login(client, real, pw).status_code == 429
    assert len(_audit(db, "login.locked")) == 1


def test_brute_force_on_the_public_status_page_is_limited_and_logged(settings, db):
    app = create_app(settings=settings, side="office", db=db)
    if "/api/v1/public/status" not in {i.path for i in iter_routes(app)}:
        pytest.fail("the public status API is expected on the office app")
    client = TestClient(app, client=("203.0.113.7", 40000))
    codes = [client.post("/api/v1/public/status", json={"nik": f"18010{i:011d}", "receipt_number": "RCPT-0001"}).status_code
             for i in range(settings.status_limit_per_ip + 2)]
    assert 429 in codes and 500 not in codes
    assert _audit(db, "rate.limited")
