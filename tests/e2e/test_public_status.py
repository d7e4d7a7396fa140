"""A resident checks their status and verifies a card in a real browser, without signing in."""

from __future__ import annotations

import pytest

from ktpel.sync import authorisation
from ktpel.keys.keyring import central_signing_key, init_keys
from ktpel.web.app import create_app
from tests.integration.notify.conftest import add_resident

pytestmark = pytest.mark.e2e


@pytest.fixture
def backend() -> str:
    """Browser flows run once, on SQLite; the integration tests cover both databases."""
    return "sqlite"


@pytest.fixture
def server(settings, db, live_server):
    return live_server(create_app(settings=settings, side="office", db=db))


def test_resident_checks_status_and_a_guess_reads_not_found(server, page, db):
    with db.unit_of_work() as s:
        r, _ = add_resident(s, name="WULAN SARI", state="PRINT_READY", receipt="RCP-7001")
        nik = r.nik
    page.goto(server.url + "/status")
    page.fill("input[name=nik]", nik)
    page.fill("input[name=receipt_number]", "RCP-7001")
    page.click("#status-form button[type=submit]")
    result = page.locator("#status-result")
    assert result.get_attribute("data-found") == "yes"
    assert "siap dicetak" in result.inner_text() and "WULAN" not in page.content()
    page.goto(server.url + "/status")
    page.fill("input[name=nik]", nik)
    page.fill("input[name=receipt_number]", "RCP-7002")
    page.click("#status-form button[type=submit]")
    assert page.locator("#status-result").get_attribute("data-found") == "no"
    assert "tidak ditemukan" in page.locator("#not-found").inner_text()


def test_card_qr_payload_pasted_is_verified(server, page, settings):
    init_keys(settings, side="central")
    card = {f: "x" for f in authorisation.CARD_FIELDS} | {"card_id": "c-e2e", "name": "WULAN SARI"}
    token = authorisation.issue(signing_key=central_signing_key(settings), card=card)
    page.goto(server.url + "/verifikasi")
    page.fill("#payload", token)
    page.click("#verify-form button[type=submit]")
    assert page.locator("#verify-result").get_attribute("data-result") == "VALID"
    assert "WULAN SARI" in page.locator("#verify-result").inner_text()
    page.fill("#payload", token[:-6] + "AAAAAA")
    page.click("#verify-form button[type=submit]")
    assert page.locator("#verify-result").get_attribute("data-result") == "INVALID"


def test_scan_script_is_served_same_origin(server, page):
    page.goto(server.url + "/verifikasi")
    script = page.request.get(server.url + "/verifikasi/scan.js")
    assert script.status == 200 and "BarcodeDetector" in script.text()
    assert page.locator("script[src='/verifikasi/scan.js']").count() == 1
