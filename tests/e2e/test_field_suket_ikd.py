"""Suket and IKD in a real browser: issue a Suket and verify its QR content at /verifikasi; the head bans it and
the counter shows the ban; an IKD activation with a refused and then a matching selfie, the officer QR opened
on a second browser context (the resident's phone), the one-time code, the credential verified."""

import json
import re

import pytest
from sqlalchemy import select

from ktpel.security.access import Role, User
from tests.e2e.test_ux import check_page, wait_until
from tests.integration.printing.conftest import Office

pytestmark = pytest.mark.e2e


@pytest.fixture
def office_app(db, settings, shared_data):
    from ktpel.biometrics import get_engine
    from ktpel.web.app import create_app

    app = create_app(settings=settings, side="office", db=db)

    @app.middleware("http")
    async def as_head(request, call_next):  # stands in for a signed-in session
        request.state.user = User(id=1, username="kadis", role=Role.HEAD, regency_code="18.01")
        return await call_next(request)

    face = (shared_data / "faces" / "att_orl" / "s7" / "1.pgm").read_bytes()
    card_id = Office(db, settings).card(name="DEWI LESTARI",
                                        captures={"face": (face, get_engine().extract_face(face).to_bytes())})
    from ktpel.store.schema.core import CardRow, ResidentRow

    with db.unit_of_work() as s:
        nik = s.scalar(select(ResidentRow.nik).join(CardRow, CardRow.resident_id == ResidentRow.id)
                       .where(CardRow.id == card_id))
    return app, nik


def test_suket_issue_pdf_verify_and_ban(office_app, page, live_server):
    app, nik = office_app
    srv = live_server(app)
    page.goto(srv.url + "/suket")
    assert page.get_attribute("#suket-policy", "data-mode") == "ALLOWED"
    check_page(page, "suket")
    page.fill("#suket-nik", nik)
    page.select_option("#suket-reason", "blanko_habis")
    page.click("#suket-issue button[type=submit]")
    page.wait_for_selector("#suket-detail[data-state=ACTIVE]")
    assert "PRR" in page.inner_text("#suket-detail")
    check_page(page, "suket-terbit")
    # renewed at the counter: the page says so and still fits a phone
    page.click("#suket-renew button[type=submit]")
    page.wait_for_url(re.compile(r"ok=perpanjang"))
    assert "1×" in page.inner_text("#suket-detail")
    check_page(page, "suket-perpanjang")
    pdf = page.request.get(srv.url + page.get_attribute("#suket-pdf", "href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    token = page.input_value("#suket-token")
    page.goto(srv.url + "/verifikasi")
    page.fill("#payload", token)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result")
    assert page.get_attribute("#verify-result", "data-result") == "VALID"
    assert page.get_attribute("#verify-result", "data-kind") == "suket"
    assert nik in page.inner_text("#verify-result")
    check_page(page, "verifikasi-suket")
    # the head bans Suket: every officer sees it on the counter page and the issue button is off
    page.goto(srv.url + "/suket")
    page.check("#suket-policy-form input[value=BANNED]")
    page.click("#suket-policy-form button[type=submit]")
    page.wait_for_selector("#suket-policy[data-mode=BANNED]")
    assert "dilarang" in page.inner_text("#suket-policy")
    assert page.is_disabled("#suket-issue button[type=submit]")
    check_page(page, "suket-dilarang")


def test_ikd_activation_with_selfie_qr_and_code(office_app, page, browser, live_server, db, shared_data):
    app, nik = office_app
    srv = live_server(app)
    faces = shared_data / "faces" / "att_orl"
    page.goto(srv.url + f"/ikd?nik={nik}")
    check_page(page, "ikd-mulai")
    page.fill("#ikd-phone", "0812-3456-7890")
    page.fill("#ikd-email", "dewi@example.org")
    page.check("#ikd-consent")
    page.click("#ikd-start button[type=submit]")
    page.wait_for_selector("#ikd-step[data-state=PENDING_SELFIE]")
    # someone else's face: refused, with the 1:1 score shown
    page.set_input_files("#selfie", str(faces / "s8" / "2.pgm"))
    page.click("#ikd-selfie button[type=submit]")
    page.wait_for_selector("#error")
    assert "skor 1:1" in page.inner_text("#error")
    assert page.get_attribute("#ikd-step", "data-state") == "PENDING_SELFIE"
    check_page(page, "ikd-swafoto-ditolak")
    page.set_input_files("#selfie", str(faces / "s7" / "4.pgm"))
    page.click("#ikd-selfie button[type=submit]")
    page.wait_for_selector("#ikd-step[data-state=PENDING_SCAN]")
    # the QR is an <img> the browser loads after the page: wait for it to finish (complete), then judge it
    wait_until(page, "document.getElementById('ikd-qr').complete")
    assert page.evaluate("document.getElementById('ikd-qr').naturalWidth") > 100
    device_url = page.inner_text("#ikd-device-url").strip()
    check_page(page, "ikd-pindai-qr")
    # the resident's phone: another browser context, nothing shared with the officer's
    phone = browser.new_context(locale="id-ID").new_page()
    phone.goto(device_url)
    check_page(phone, "ikd-perangkat")
    phone.click("#ikd-scan button")
    phone.wait_for_selector("#ikd-code")
    check_page(phone, "ikd-kode")
    from ktpel.store.schema.notify import NotifyMessageRow

    with db.unit_of_work() as s:
        sent = s.scalars(select(NotifyMessageRow).where(NotifyMessageRow.trigger == "ikd_code")).one()
        code = json.loads(sent.variables)["kode"]
    phone.fill("#ikd-code-input", code)
    phone.click("#ikd-code button[type=submit]")
    phone.wait_for_selector("#ikd-activated")
    token = phone.input_value("#ikd-token")
    assert token.startswith("KTD1.")
    check_page(phone, "ikd-aktif")
    # the same code again (a replay) is refused
    phone.goto(device_url)
    phone.fill("#ikd-code-input", code)
    phone.click("#ikd-code button[type=submit]")
    phone.wait_for_selector("#error")
    assert "sudah dipakai" in phone.inner_text("#error")
    phone.context.close()
    page.goto(srv.url + "/verifikasi")
    page.fill("#payload", token)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result")
    assert (page.get_attribute("#verify-result", "data-result"), page.get_attribute("#verify-result", "data-kind")) \
        == ("VALID", "ikd")
    page.goto(srv.url + "/ikd")
    assert page.inner_text("#ikd-blanks-saved") == "1"
    check_page(page, "ikd")
