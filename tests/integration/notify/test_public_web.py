"""Public status and card verification over real HTTP handling (TestClient), CSRF and rate limits included."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ktpel.sync import authorisation
from ktpel.keys.keyring import central_signing_key, init_keys
from ktpel.web.app import create_app
from ktpel.sync.wiring import HandlerContext
from tests.integration.notify.conftest import add_resident


@pytest.fixture
def app(settings, db):
    return create_app(settings=settings, side="office", db=db)


def _post(app, path: str, body: dict):
    """A machine client: no cookies, so no CSRF token (the security middleware's rule)."""
    return TestClient(app).post(path, json=body)


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)


def test_status_page_answers_with_nik_and_receipt_and_reveals_no_name(app, db):
    with db.unit_of_work() as s:
        r, e = add_resident(s, name="RAHMAT HIDAYAT", state="PRINT_READY", receipt="RCP-0001")
        nik = r.nik
    client = TestClient(app)
    token = _csrf(client, "/status")
    resp = client.post("/status", data={"nik": nik, "receipt_number": "rcp-0001", "csrf_token": token})
    assert resp.status_code == 200
    assert 'data-found="yes"' in resp.text and "siap dicetak" in resp.text and "KK" in resp.text
    assert app.state.settings.office_hours in resp.text
    assert "RAHMAT" not in resp.text and "MERDEKA" not in resp.text


def test_status_post_without_csrf_token_is_refused(app, db):
    client = TestClient(app)
    client.get("/status")
    resp = client.post("/status", data={"nik": "1" * 16, "receipt_number": "RCP-0001"})
    assert resp.status_code == 403


def test_wrong_receipt_and_unknown_nik_get_the_same_answer(app, db):
    with db.unit_of_work() as s:
        r, _ = add_resident(s, receipt="RCP-0002")
        nik = r.nik
    client = TestClient(app)
    wrong = _post(app, "/api/v1/public/status", {"nik": nik, "receipt_number": "RCP-9999"})
    unknown = _post(app, "/api/v1/public/status", {"nik": "1801050101900999", "receipt_number": "RCP-0002"})
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.json() == unknown.json() and wrong.json()["found"] is False
    right = _post(app, "/api/v1/public/status", {"nik": nik, "receipt_number": "RCP-0002"}).json()
    assert right["found"] is True and right["code"] == "SFE" and right["wait_id"]
    assert set(right) == set(wrong.json())  # same shape: nothing personal in either


def test_both_fields_are_required(app):
    client = TestClient(app)
    resp = _post(app, "/api/v1/public/status", {"nik": "1801050101900001"})
    assert resp.status_code == 422 and resp.json()["code"] == "lookup_invalid"


def _from(app, ip: str, body: dict):  # noqa: ANN001, ANN202
    return TestClient(app, client=(ip, 40000)).post("/api/v1/public/status", json=body)


def test_guessing_receipts_stops_the_guesser_but_never_locks_out_the_resident(app, db, settings):
    """Issue 20 item 8: five wrong receipts for a NIK used to refuse the correct one for an hour."""
    with db.unit_of_work() as s:
        r, _ = add_resident(s, receipt="RCP-0003")
        nik = r.nik
    answers = [_from(app, "203.0.113.5", {"nik": nik, "receipt_number": f"RCP-{i:04d}9"})
               for i in range(settings.status_limit_per_nik)]
    assert all(a.status_code == 200 and a.json()["found"] is False for a in answers)
    blocked = _from(app, "203.0.113.5", {"nik": nik, "receipt_number": "RCP-0004"})
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 3601
    # the resident, elsewhere, with the right receipt: found, not locked out
    resident = _from(app, "198.51.100.7", {"nik": nik, "receipt_number": "RCP-0003"})
    assert resident.status_code == 200 and resident.json()["found"] is True
    from sqlalchemy import func, select

    from ktpel.store.schema.notify import StatusLookupRow

    with db.unit_of_work() as s:
        logged = s.scalar(select(func.count()).select_from(StatusLookupRow).where(StatusLookupRow.found.is_(False)))
        assert logged == settings.status_limit_per_nik
        assert nik not in {h for h in s.scalars(select(StatusLookupRow.nik_hash))}


def test_a_distributed_guess_slows_the_nik_down_for_seconds_not_an_hour(app, db, settings):
    from sqlalchemy import update

    from ktpel.domain.events import utcnow
    from ktpel.store.schema.notify import StatusLookupRow

    import datetime as dt

    with db.unit_of_work() as s:
        r, _ = add_resident(s, receipt="RCP-0005")
        nik = r.nik
    for i in range(settings.status_nik_slowdown_after):  # one wrong guess from each of many addresses
        assert _from(app, f"203.0.113.{i + 1}", {"nik": nik, "receipt_number": "RCP-99999"}).status_code == 200
    slowed = _from(app, "198.51.100.7", {"nik": nik, "receipt_number": "RCP-0005"})
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) <= settings.status_nik_slowdown_s + 1
    with db.unit_of_work() as s:  # the pause has passed
        s.execute(update(StatusLookupRow).values(at=utcnow() - dt.timedelta(seconds=settings.status_nik_slowdown_s + 1)))
    found = _from(app, "198.51.100.7", {"nik": nik, "receipt_number": "RCP-0005"})
    assert found.status_code == 200 and found.json()["found"] is True


def test_forwarded_for_is_believed_only_from_a_configured_proxy(app, settings):
    settings.status_limit_per_ip = 2
    spoofed = [TestClient(app, client=("198.51.100.9", 1)).post(
        "/api/v1/public/status", headers={"X-Forwarded-For": f"10.0.0.{i}"},
        json={"nik": f"18010501019{i:05d}", "receipt_number": "RCP-0001"}).status_code for i in range(4)]
    assert spoofed == [200, 200, 429, 429]  # the header from an ordinary client changes nothing
    settings.trusted_proxies = "127.0.0.1/32"
    proxied = [TestClient(app, client=("127.0.0.1", 1)).post(
        "/api/v1/public/status", headers={"X-Forwarded-For": f"192.0.2.{i}, 127.0.0.1"},
        json={"nik": f"18010501029{i:05d}", "receipt_number": "RCP-0001"}).status_code for i in range(4)]
    assert proxied == [200, 200, 200, 200]  # behind our proxy, each visitor is counted as themselves


def test_real_server_ignores_forwarded_for_from_loopback(app, settings):
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default; the serve commands turn that off."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from ktpel.security.tls import server_kwargs

    settings.status_limit_per_ip = 2
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **server_kwargs(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        codes = [httpx.post(f"http://127.0.0.1:{port}/api/v1/public/status", headers={"X-Forwarded-For": f"10.1.0.{i}"},
                            json={"nik": f"18010501039{i:05d}", "receipt_number": "RCP-0001"}).status_code
                 for i in range(4)]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert codes == [200, 200, 429, 429]


def test_one_ip_trying_many_niks_is_rate_limited(app, settings):
    settings.status_limit_per_ip = 4
    client = TestClient(app)
    codes = [_post(app, "/api/v1/public/status", {"nik": f"18010501019{i:05d}", "receipt_number": "RCP-0001"}).status_code
             for i in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]


def _token(settings, *, card_id: str = "card-1", enrollment_id: str = "enr-1") -> str:
    init_keys(settings, side="central")
    card = {f: "x" for f in authorisation.CARD_FIELDS}
    card.update(card_id=card_id, enrollment_id=enrollment_id, nik="1801054101900001", name="SITI AMINAH",
                birth_date="1990-01-01")
    return authorisation.issue(signing_key=central_signing_key(settings), card=card)


def test_verification_shows_valid_invalid_and_revoked(app, db, settings):
    token = _token(settings)
    client = TestClient(app)
    ok = _post(app, "/api/v1/public/verify", {"payload": token}).json()
    assert ok["result"] == "VALID" and ok["card"]["name"] == "SITI AMINAH"
    head, payload, kid, sig = token.split(".")
    forged = ".".join([head, payload[:-4] + ("AAAA" if not payload.endswith("AAAA") else "BBBB"), kid, sig])
    assert _post(app, "/api/v1/public/verify", {"payload": forged}).json()["result"] == "INVALID"
    # text that is not a KTP-El code is unreadable, not "altered"
    assert _post(app, "/api/v1/public/verify", {"payload": "hello"}).json()["result"] == "UNREADABLE"
    from ktpel.office.notify.handlers import on_revocation

    with db.unit_of_work() as s:
        on_revocation(s, context=HandlerContext(settings=settings),
                      subject_id="enr-1", data={"enrollment_id": "enr-1", "reason": "data ganda"})
    revoked = _post(app, "/api/v1/public/verify", {"payload": token}).json()
    assert revoked["result"] == "REVOKED"
    page_token = _csrf(client, "/verifikasi")
    page = client.post("/verifikasi", data={"payload": token[:60] + "\n" + token[60:], "csrf_token": page_token})
    assert page.status_code == 200 and 'data-result="REVOKED"' in page.text and "DIBLOKIR" in page.text


def test_verification_without_central_key_says_so(app):
    client = TestClient(app)
    assert _post(app, "/api/v1/public/verify", {"payload": "KTA1.a.b.c"}).json()["result"] == "NO_KEYS"



def test_the_per_address_limit_holds_across_worker_processes(settings, db):
    """Two apps over one database stand for two workers of `office serve --workers 2`, each with its own
    in-process window: together they still answer the limit, not twice it."""
    settings.status_limit_per_ip = 4
    workers = [create_app(settings=settings, side="office", db=db) for _ in range(2)]
    codes = [_post(workers[i % 2], "/api/v1/public/status",
                   {"nik": f"18010501019{i:05d}", "receipt_number": "RCP-0001"}).status_code for i in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]
