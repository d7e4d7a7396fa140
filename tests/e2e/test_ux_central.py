"""Issue 18 on the data center's pages: words instead of codes, zoomable images, a paginated case list."""

from __future__ import annotations

import re
import uuid

import pytest

from ktpel.config import Settings
from ktpel.security.access import Role
from tests.e2e.test_ux import check_page

pytestmark = pytest.mark.e2e
PASSWORD = "pusat-sandi-kuat-e2e-18"


def _login(page, url: str, username: str) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    page.goto(f"{url}/masuk")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_central_pages_speak_plainly(page, live_server, tmp_path, shared_data):
    """Problems 2 (sinkron, adjudication, pipeline), 9 (zone on every time), 10 (zoom, pagination, menus)."""
    from ktpel.biometrics import get_engine
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.central.pipeline.worker import Worker
    from ktpel.security.service import add_user
    from ktpel.store.db import open_database
    from ktpel.store.schema.central import DuplicateCaseRow
    from ktpel.central.sync.intake import register_office
    from ktpel.keys.keyring import init_keys, load_keyring
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
        register_office(s, office_code="18.01", name="Disdukcapil Lampung Selatan",
                        keys=[k.to_dict() for k in load_keyring(settings, side="central").publics()])
        for i in range(60):  # more cases than one page holds
            s.add(DuplicateCaseRow(id=f"DG-{i:03d}", record_a=first["enrollment_id"],
                                   record_b=second["enrollment_id"], source="adjudication", opened_by="uji",
                                   status="open"))
        add_user(s, username="adj-satu", role=Role.ADJUDICATOR, password=PASSWORD)
        add_user(s, username="admin-uji", role=Role.CENTER_ADMIN, password=PASSWORD)
    srv = live_server(create_app(settings=settings, side="central", db=db))
    page.set_default_timeout(45_000)  # a loaded 2-core machine

    _login(page, srv.url, "admin-uji")
    page.goto(srv.url + "/pusat/sinkron")
    offices = page.inner_text("#offices")
    assert "built-in method" not in offices and "18.01" in offices
    assert re.search(r"\b\d+\b", page.inner_text("#offices tbody td:nth-child(3)"))
    check_page(page, "pusat-sinkron")
    page.goto(srv.url + "/pipeline")
    text = page.inner_text("main")
    assert "print_ready" not in text.lower() and "siap cetak" in text.lower()
    check_page(page, "pipeline")
    page.goto(srv.url + "/kasus-ganda")
    assert page.locator("#cases tbody tr").count() == 25 and page.is_visible("#pager")
    assert "DG-0" not in page.inner_text("#cases")
    height = page.evaluate("document.documentElement.scrollHeight")
    check_page(page, "kasus-ganda")
    page.click("#pager a[aria-label='Halaman 3']")
    page.wait_for_url(re.compile(r"halaman=3"))
    assert page.locator("#cases tbody tr").count() == 10
    assert height < 8000

    _login(page, srv.url, "adj-satu")
    assert page.url.endswith("/dasbor-pusat")
    menu = [a.get_attribute("href") for a in page.locator("nav.usa-nav a.usa-nav-link").all()]
    assert "/pipeline" not in menu and "/adjudikasi" in menu
    check_page(page, "dasbor-pusat")
    page.goto(srv.url + "/adjudikasi")
    assert not re.search(r"[0-9a-f]{16,}", page.inner_text("#adjudication-queue"))
    check_page(page, "adjudikasi")
    page.click("#adjudication-queue a")
    page.wait_for_selector("#decision-form")
    text = page.inner_text("main")
    for code in ("biometric_hit", "birth_place", "finger_1", "confirming", "PRINT_READY", "ADJUDICATION"):
        assert code not in text, code
    assert "Tempat lahir" in text
    # images open full size, and the comparison shows them larger than thumbnails
    zoom = page.locator("a.zoom")
    assert zoom.count() >= 4
    assert page.evaluate("document.querySelector('img.face').getBoundingClientRect().width") >= 180
    full = page.request.get(srv.url + zoom.first.get_attribute("href"))
    assert full.ok and full.headers["content-type"].startswith("image/")
    check_page(page, "adjudikasi-banding")
