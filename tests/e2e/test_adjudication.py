"""Two adjudicators in Debian's Chromium decide "same person" on a duplicate recorded at two offices."""

from __future__ import annotations

import re
import uuid

from ktpel.config import Settings
from ktpel.security.access import Role

PASSWORD = "adjudikator-sandi-kuat-e2e"


def _login(page, url: str, username: str) -> None:  # noqa: ANN001
    page.goto(f"{url}/masuk?next=/adjudikasi")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/adjudikasi$"))


def test_two_adjudicators_confirm_a_duplicate_in_the_browser(page, browser, live_server, tmp_path, shared_data):
    from ktpel.biometrics import get_engine
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.central.pipeline.worker import Worker
    from ktpel.security.service import add_user
    from ktpel.store.db import open_database
    from ktpel.store.schema.central import NationalRecordRow
    from ktpel.keys.keyring import init_keys
    from ktpel.web.app import create_app
    from tests.integration.central.conftest import make_payload

    settings = Settings(data_dir=tmp_path / "central", shared_data=shared_data)
    init_keys(settings, side="central")
    db = open_database(settings, name="central")
    eng = get_engine()

    def bio(impression: int) -> dict:
        face = (shared_data / "faces" / "att_orl" / "s1" / f"{impression}.pgm").read_bytes()
        out = {"templates": {"face": eng.extract_face(face).to_bytes()}, "images": {"face": face}}
        for p in range(1, 5):
            img = (shared_data / "fingerprints" / "FVC2002_DB1_B" / f"{100 + p}_{impression}.tif").read_bytes()
            out["templates"][f"finger_{p}"] = eng.extract_finger(img, finger_position=p).to_bytes()
            out["images"][f"finger_{p}"] = img
        return out

    first = make_payload(bio(1), nik="1801051705900001", name="Budi Santoso")
    second = make_payload(bio(2), nik="1802051705900003", name="Budi Santosa", office_code="18.02")
    for p in (first, second):
        with db.unit_of_work() as s:
            handle_enrollment(s, packet_id=uuid.uuid4().hex, office_code=p["office_code"], kind="enrollment",
                              subject_id=p["enrollment_id"], payload=p)
    assert [o.outcome for o in Worker(db=db, settings=settings).drain()] == ["PRINT_READY", "ADJUDICATION"]
    with db.unit_of_work() as s:
        for name in ("adj-satu", "adj-dua"):
            add_user(s, username=name, role=Role.ADJUDICATOR, password=PASSWORD)
    srv = live_server(create_app(settings=settings, side="central", db=db))

    _login(page, srv.url, "adj-satu")
    page.click("#adjudication-queue a")
    page.wait_for_selector("#decision-form")
    # both photos and the fingers are shown, the differing NIK is highlighted
    assert page.locator("img.face").count() == 2
    assert page.locator("#scores img").count() == 8
    assert page.locator("#demographics td.diff", has_text="1802051705900003").count() == 1
    page.fill("textarea[name=reason]", "Wajah dan empat sidik jari cocok")
    page.click("#btn-same")
    page.wait_for_url(re.compile(r"/adjudikasi\?done="))
    assert "menunggu konfirmasi" in page.inner_text("#adjudication-queue")

    # the first adjudicator keeps the item open in a tab while the second confirms
    page.click("#adjudication-queue a")
    page.wait_for_selector("#decision-form")

    other = browser.new_context(locale="id-ID").new_page()
    _login(other, srv.url, "adj-dua")
    other.click("#adjudication-queue a")
    other.wait_for_selector("#btn-same")
    other.fill("textarea[name=reason]", "Konfirmasi: orang yang sama")
    other.click("#btn-same")
    other.wait_for_url(re.compile(r"/adjudikasi\?done="))
    assert other.locator("#queue-empty").count() == 1
    with db.unit_of_work() as s:
        assert s.get(NationalRecordRow, second["enrollment_id"]).state == "DUPLICATE"

    # the first adjudicator's stale tab: a late click is refused with a clear message, nothing changes
    page.fill("textarea[name=reason]", "ternyata berbeda")
    page.click("#btn-different")
    assert "sudah diputuskan" in page.inner_text("#decision-error")
    with db.unit_of_work() as s:
        assert s.get(NationalRecordRow, second["enrollment_id"]).state == "DUPLICATE"
    other.context.close()
