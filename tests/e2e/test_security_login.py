"""In a real browser: sign in through /masuk, land where we were going, sign out; CSP does not break pages."""

from __future__ import annotations

from ktpel.security.access import Role
from ktpel.web.app import create_app
from tests.auth_fixtures import make_user


def test_sign_in_redirects_back_and_sign_out_ends_the_session(page, live_server, settings, db):
    app = create_app(settings=settings, side="office", db=db)
    user, password = make_user(db, role=Role.OPERATOR)
    srv = live_server(app)
    csp_errors = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(srv.url + "/penduduk?q=budi")
    assert "/masuk?next=" in page.url
    assert page.locator("h1").inner_text() == "Masuk"
    page.fill("#username", user)
    page.fill("#password", "salah-sekali-123")
    page.click("button[type=submit]")
    assert "kata sandi salah" in page.locator("#login-error").inner_text()

    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/penduduk?q=budi")
    assert user in page.locator(".who .user").inner_text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["ktpel_office_session"]["httpOnly"] and cookies["ktpel_office_session"]["sameSite"] == "Lax"

    page.click("form[action='/keluar'] button")
    page.wait_for_url("**/masuk?keluar=1")
    assert "Anda telah keluar" in page.content()
    page.goto(srv.url + "/penduduk")
    assert "/masuk?next=" in page.url
    assert not csp_errors, csp_errors
