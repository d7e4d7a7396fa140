"""Suket over HTTP with real sign-in: the counter page shows the policy; issue, PDF, verify, renew, revoke;
only the head switches the policy; errors come back in Bahasa Indonesia (pages) and English (API)."""

import re

from sqlalchemy import select

from ktpel.security.access import Role
from ktpel.store.schema.core import CardRow, ResidentRow
from ktpel.store.schema.suket import SuketRow
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client


def nik_of(db, card_id):
    with db.unit_of_work() as s:
        return s.scalar(select(ResidentRow.nik).join(CardRow, CardRow.resident_id == ResidentRow.id)
                        .where(CardRow.id == card_id))


def test_counter_issue_pdf_verify_renew_revoke(settings, db, office):
    app = create_app(settings=settings, side="office", db=db)
    op, spv = authed_client(app, db, Role.OPERATOR), authed_client(app, db, Role.SUPERVISOR)
    nik = nik_of(db, office.card())
    page = op.get("/suket")
    assert page.status_code == 200 and 'id="suket-policy"' in page.text and "diizinkan" in page.text
    resp = op.post("/suket/terbit", data={"csrf_token": op.csrf, "nik": nik, "alasan": "blanko_habis"},
                   follow_redirects=False)
    assert resp.status_code == 303, resp.text
    serial = re.search(r"/suket/(SKT-[0-9-]+)", resp.headers["location"]).group(1)
    detail = op.get(f"/suket/{serial}")
    assert "PRR" in detail.text and 'data-state="ACTIVE"' in detail.text
    pdf = op.get(f"/suket/{serial}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    with db.unit_of_work() as s:
        token = s.get(SuketRow, serial).token
    from fastapi.testclient import TestClient

    anon = TestClient(app)  # the public page: no sign-in
    form = anon.get("/verifikasi")
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text).group(1)
    verified = anon.post("/verifikasi", data={"csrf_token": csrf, "payload": token})
    assert 'data-result="VALID"' in verified.text and 'data-kind="suket"' in verified.text and serial in verified.text
    # operator may renew, may not revoke
    assert op.post(f"/suket/{serial}/perpanjang", data={"csrf_token": op.csrf}, follow_redirects=False).status_code == 303
    assert op.post(f"/suket/{serial}/cabut", data={"csrf_token": op.csrf, "alasan": "x"}).status_code == 403
    assert spv.post(f"/suket/{serial}/cabut", data={"csrf_token": spv.csrf, "alasan": "salah orang"},
                    follow_redirects=False).status_code == 303
    again = op.post(f"/suket/{serial}/perpanjang", data={"csrf_token": op.csrf})
    assert again.status_code == 409 and "tidak dapat diperpanjang" in again.text
    api = op.post(f"/api/v1/suket/{serial}/renew", headers={"X-CSRF-Token": op.csrf})
    assert api.status_code == 409 and api.json()["code"] == "suket_not_active"


def test_only_head_switches_policy_and_ban_is_visible(settings, db, office):
    app = create_app(settings=settings, side="office", db=db)
    op, head = authed_client(app, db, Role.OPERATOR), authed_client(app, db, Role.HEAD)
    nik = nik_of(db, office.card(state="PRINTED"))
    assert op.post("/suket-kebijakan", data={"csrf_token": op.csrf, "mode": "BANNED"}).status_code == 403
    assert head.post("/suket-kebijakan", data={"csrf_token": head.csrf, "mode": "BANNED"},
                     follow_redirects=False).status_code == 303
    page = op.get("/suket")
    assert 'data-mode="BANNED"' in page.text and "dilarang" in page.text
    refused = op.post("/suket/terbit", data={"csrf_token": op.csrf, "nik": nik, "alasan": "blanko_habis"})
    assert refused.status_code == 409 and "dilarang" in refused.text
    api = op.post("/api/v1/suket", json={"nik": nik, "reason": "blanko_habis"}, headers={"X-CSRF-Token": op.csrf})
    assert api.status_code == 409 and api.json()["code"] == "suket_banned"
    with db.unit_of_work() as s:
        assert s.scalars(select(SuketRow)).all() == []
