"""Every upload path decodes under one policy: a 169-Mpx PNG of 200 KB is refused from its header (item 2)."""

from __future__ import annotations

import pytest

from ktpel.office.enrollment.bulk import import_folder
from ktpel.office.enrollment.samples import write_sample_folder
from ktpel.security.access import Role, User
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.sync import OutboxRow
from tests.image_bombs import bomb_png
from tests.integration.enrollment.conftest import capture_set

BOMB = (13000, 13000)  # 169 Mpx: under Pillow's own bomb limit (179 Mpx), over ours (40 Mpx)


@pytest.mark.parametrize("kind", ["signature", "face", "finger_4"])
def test_a_pixel_bomb_upload_is_refused_and_nothing_is_stored(office, images, kind):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images, **{kind: bomb_png(*BOMB)}), form_token=f"b-{kind}")
    assert resp.status_code == 422, resp.text[:300]
    assert resp.json()["code"] == "image_too_large"
    assert "megapiksel" in resp.json()["message_id"]
    assert office.count(EnrollmentRow) == 0 and office.count(OutboxRow) == 0


def test_the_quality_api_refuses_a_pixel_bomb(office):
    resp = office.client.post("/api/v1/quality/face", headers=office.headers(),
                              files={"image": ("f.png", bomb_png(*BOMB), "image/png")})
    assert resp.status_code == 200 and resp.json()["ok"] is False
    assert any("image_too_large" in r or "pixels" in r for r in resp.json()["reasons"]), resp.json()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bulk_import_refuses_a_pixel_bomb_signature(office, tmp_path, regions):
    niks = office.unrecorded_niks(2)
    folder = write_sample_folder(shared_data=office.settings.shared_data, niks=niks, target=tmp_path / "batch")
    for old in (folder / niks[1]).glob("signature.*"):
        old.unlink()
    (folder / niks[1] / "signature.png").write_bytes(bomb_png(*BOMB))
    operator = User(id=1, username="op1", role=Role.OPERATOR, regency_code="18.01")
    report = import_folder(office.db, settings=office.settings, regions=regions, folder=folder, operator=operator)
    assert len(report.recorded) == 1
    assert [(f["nik"], f["code"]) for f in report.failed] == [(niks[1], "image_too_large")]
