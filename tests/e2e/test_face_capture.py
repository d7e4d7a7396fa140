"""Live capture in Chromium: a small background face is accepted with a warning, two faces are refused.

The photos are ORL composites built in the test (nothing committed): the subject in the middle with a
smaller face of another person beside it, and two faces of the same size side by side.
"""

from __future__ import annotations

import re

import cv2
import pytest
from sqlalchemy import select

from ktpel.biometrics import composite as comp
from tests.e2e.test_recording import PASSWORD, _office

pytestmark = pytest.mark.e2e


def test_capture_page_warns_of_a_background_face_and_refuses_two_subjects(page, live_server, tmp_path,
                                                                         shared_data, regions, names):
    from ktpel.store.schema.core import ResidentRow

    orl = shared_data / "faces" / "att_orl"
    grey = lambda p, i: cv2.imread(str(orl / f"s{p}" / f"{i}.pgm"), cv2.IMREAD_GRAYSCALE)  # noqa: E731
    queue = tmp_path / "antrian.png"
    queue.write_bytes(comp.png(comp.with_background_face(grey(3, 1), grey(8, 2), relative_size=0.7)))
    pair = tmp_path / "berdua.png"
    pair.write_bytes(comp.png(comp.side_by_side(grey(3, 1), grey(8, 2))))

    db, app = _office(tmp_path, shared_data, regions, names)
    with db.unit_of_work() as s:
        nik = s.scalars(select(ResidentRow.nik).order_by(ResidentRow.nik).limit(1)).one()
    srv = live_server(app)
    page.goto(f"{srv.url}/masuk?next=/rekam")
    page.fill("#username", "loket1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/rekam$"))
    page.goto(f"{srv.url}/rekam/{nik}")
    page.wait_for_selector("#capture-form")

    page.set_input_files("#face", str(pair))
    page.wait_for_selector("#q-face.bad.refused")
    text = page.inner_text("#q-face")
    assert "ditolak" in text and "dua wajah" in text and "ambil ulang foto" in text
    assert "Skor" not in text

    page.set_input_files("#face", str(queue))
    page.wait_for_selector("#q-face.good")
    assert "kualitas baik" in page.inner_text("#q-face")
    assert "wajah lain" in page.inner_text("#q-face .quality-warning")
