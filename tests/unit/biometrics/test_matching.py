"""Genuine pairs outscore impostor pairs on real shared images; verify uses calibrated thresholds."""

from __future__ import annotations

import pytest

from ktpel.biometrics import ModalityMismatch


def test_genuine_fingerprint_pair_scores_above_impostor(engine, finger_templates):
    t = finger_templates
    genuine = [engine.compare_fingers(t[f"{f}_1"], t[f"{f}_2"]) for f in (101, 102, 103)]
    impostor = [engine.compare_fingers(t[f"{a}_1"], t[f"{b}_2"]) for a, b in ((101, 102), (102, 103), (103, 101))]
    assert min(genuine) > max(impostor)


def test_fingerprint_templates_survive_serialisation(engine, finger_templates):
    a = finger_templates["101_1"]
    assert engine.compare_fingers(a.to_bytes(), finger_templates["101_3"]) == pytest.approx(
        engine.compare_fingers(a, finger_templates["101_3"]), rel=1e-3, abs=1e-3)


def test_genuine_face_pair_scores_above_impostor(engine, face_bytes):
    t = {k: engine.extract_face(v) for k, v in face_bytes.items()}
    assert len(t["s1_1"].embedding) >= 128
    assert engine.compare_faces(t["s1_1"], t["s1_2"]) > engine.compare_faces(t["s1_1"], t["s2_2"])
    assert engine.verify(t["s2_1"], t["s2_2"])[0]
    assert not engine.verify(t["s2_1"], t["s3_2"])[0]


def test_verify_rejects_mixed_modalities(engine, finger_templates, face_bytes):
    face = engine.extract_face(face_bytes["s1_1"])
    with pytest.raises(ModalityMismatch):
        engine.verify(face, finger_templates["101_1"])


def test_fingerprint_pickup_verification(engine, finger_templates):
    assert engine.verify(finger_templates["102_1"], finger_templates["102_3"])[0]
