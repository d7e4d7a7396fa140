"""Live quality API on ORL composites: a background face is a warning, two plausible subjects a refusal."""

from __future__ import annotations

import cv2

from ktpel.biometrics import composite as comp


def _orl(shared_data, person: int, shot: int):  # noqa: ANN001, ANN202
    return cv2.imread(str(shared_data / "faces" / "att_orl" / f"s{person}" / f"{shot}.pgm"), cv2.IMREAD_GRAYSCALE)


def test_live_quality_warns_of_a_background_face_and_refuses_two_with_the_reason(office, shared_data):
    h = office.headers()
    queue = comp.png(comp.with_background_face(_orl(shared_data, 5, 1), _orl(shared_data, 6, 3), relative_size=0.75))
    pair = comp.png(comp.side_by_side(_orl(shared_data, 5, 1), _orl(shared_data, 6, 3)))
    ok = office.client.post("/api/v1/quality/face", headers=h, files={"image": ("q.png", queue)}).json()
    assert ok["ok"] is True and "prompt_id" not in ok and "refused" not in ok
    assert [w.split(":")[0] for w in ok["warnings"]] == ["second_face"]
    bad = office.client.post("/api/v1/quality/face", headers=h, files={"image": ("p.png", pair)}).json()
    assert bad["ok"] is False and bad["refused"] == "multiple_faces" and bad["warnings"] == []
    assert bad["prompt_id"].startswith("Foto wajah ditolak: Ada dua wajah") and "ambil ulang foto" in bad["prompt_id"]
    assert "Two faces could equally be the subject" in bad["prompt_en"]
