"""A resident recorded end to end in Debian's Chromium: quality feedback, receipt PDF, packet in the outbox.

No central runs: the office records and queues on its own.
"""

from __future__ import annotations

import datetime as dt
import re

from PIL import Image, ImageEnhance
from sqlalchemy import select

from ktpel.domain.clock import today_wib
from ktpel.config import Settings
from ktpel.security.access import Role
from tests.e2e.test_ux import wait_until

PASSWORD = "operator-sandi-kuat-e2e"


def _office(tmp_path, shared_data, regions, names):  # noqa: ANN001, ANN202
    from ktpel.security.service import add_user
    from ktpel.seeding.service import seed_district
    from ktpel.store.db import open_database
    from ktpel.web.app import create_app

    settings = Settings(data_dir=tmp_path / "office", shared_data=shared_data)
    db = open_database(settings, name="office")
    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=30, seed=11,
                  today=today_wib())
    with db.unit_of_work() as s:
        add_user(s, username="loket1", role=Role.OPERATOR, regency_code="18.01", password=PASSWORD)
    return db, create_app(settings=settings, side="office", db=db)


def test_operator_records_a_resident_end_to_end(page, live_server, tmp_path, shared_data, regions, names):
    from ktpel.store.schema.core import ResidentRow
    from ktpel.store.schema.sync import OutboxRow

    db, app = _office(tmp_path, shared_data, regions, names)
    with db.unit_of_work() as s:
        nik = s.scalars(select(ResidentRow.nik).order_by(ResidentRow.nik).limit(1)).one()
    srv = live_server(app)
    face = shared_data / "faces" / "att_orl" / "s1" / "1.pgm"
    dark = tmp_path / "dark.png"
    ImageEnhance.Brightness(Image.open(face)).enhance(0.25).save(dark)
    fingers = sorted((shared_data / "fingerprints" / "FVC2002_DB1_B").glob("*_1.tif"))[:10]

    page.goto(f"{srv.url}/masuk?next=/rekam")
    page.fill("#username", "loket1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/rekam$"))
    page.fill("input[name=q]", nik)
    page.click("form.search button[type=submit]")
    assert "BELUM REKAM" in page.inner_text("#results")
    page.click(f"a[href='/rekam/{nik}']")
    page.wait_for_selector("#capture-form")

    # a dark photo gets a re-capture prompt; the good one a passing score
    page.set_input_files("#face", str(dark))
    page.wait_for_selector("#q-face.bad")
    assert "rekam ulang" in page.inner_text("#q-face")
    page.set_input_files("#face", str(face))
    page.wait_for_selector("#q-face.good")
    assert "Skor" in page.inner_text("#q-face")
    # a right thumb with 13 minutiae is asked again (the national search's first finger); then the good one
    page.set_input_files("#finger_1", str(shared_data / "fingerprints" / "FVC2002_DB1_B" / "101_5.tif"))
    page.wait_for_selector("#q-finger_1.bad", timeout=30_000)
    assert "13 titik minusi" in page.inner_text("#q-finger_1") and "rekam ulang" in page.inner_text("#q-finger_1")
    for pos, path in enumerate(fingers, start=1):
        page.set_input_files(f"#finger_{pos}", str(path))
    for pos in range(1, 11):
        page.wait_for_selector(f"#q-finger_{pos}.good, #q-finger_{pos}.bad", timeout=30_000)
    assert "Skor" in page.inner_text("#q-finger_10")

    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 120)
    page.mouse.down()
    for x, y in ((90, 40), (150, 110), (220, 50), (320, 100), (430, 60)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=5)
    page.mouse.up()
    wait_until(page, "document.getElementById('signature').files.length === 1", tries=50)
    page.fill("#phone_1", "0812-3456-7890")
    page.check("#consent_1")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/rekam/[0-9a-f]{32}/selesai$"), timeout=60_000)
    assert page.inner_text("#state") == "ANTRE"
    assert page.is_visible("#queued")
    enrollment_id = page.get_attribute("#enrollment", "data-enrollment-id")
    receipt_number = page.inner_text("#receipt-number")

    href = page.get_attribute("#receipt-link", "href")
    pdf = page.request.get(srv.url + href)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF") and receipt_number.encode() in pdf.body() and nik.encode() in pdf.body()

    with db.unit_of_work() as s:
        packets = s.scalars(select(OutboxRow).where(OutboxRow.subject_id == enrollment_id)).all()
    assert len(packets) == 1 and packets[0].kind == "enrollment" and packets[0].state == "QUEUED"

    # the resident is now flagged: no second capture form
    page.goto(f"{srv.url}/rekam/{nik}")
    assert page.is_visible("#flag") and page.locator("#capture-form").count() == 0


def test_webcam_snapshot_goes_through_live_quality(browser, live_server, tmp_path, shared_data, regions, names):
    """getUserMedia with Chromium's fake camera (a test pattern, no face): the snapshot is checked and refused."""
    from ktpel.store.schema.core import ResidentRow
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    db, app = _office(tmp_path, shared_data, regions, names)
    with db.unit_of_work() as s:
        nik = s.scalars(select(ResidentRow.nik).order_by(ResidentRow.nik).limit(1)).one()
    srv = live_server(app)
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    # a second Chromium from the session's Playwright, started with a fake camera
    camera_browser = browser.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
    try:
        context = camera_browser.new_context(locale="id-ID")
        context.grant_permissions(["camera"], origin=srv.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{srv.url}/masuk?next=/rekam/{nik}")
        page.fill("#username", "loket1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#capture-form")
        page.click("#camera-start")
        page.wait_for_selector("#camera-shot:not([hidden])")
        page.wait_for_timeout(500)  # let the fake camera deliver frames
        page.click("#camera-shot")
        page.wait_for_selector("#q-face.bad, #q-face.good")
        assert page.evaluate("document.getElementById('face').files[0].name") == "webcam.jpg"
        text = page.inner_text("#q-face")
        assert "Wajah tidak ditemukan" in text and "rekam ulang" in text
    finally:
        camera_browser.close()
