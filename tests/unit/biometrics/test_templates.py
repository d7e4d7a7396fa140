"""Template binary format and ISO/IEC 19794-2 round trips; corruption gives CorruptTemplate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktpel.biometrics import CorruptTemplate, FaceTemplate, FingerTemplate, template_from_bytes
from ktpel.biometrics.fingerprint.iso19794 import from_iso19794_2, to_iso19794_2


def _finger(n: int = 30, seed: int = 0) -> FingerTemplate:
    rng = np.random.default_rng(seed)
    m = np.column_stack([rng.integers(0, 380, n), rng.integers(0, 370, n), rng.uniform(0, 2 * np.pi, n),
                         rng.integers(0, 101, n) / 100, rng.integers(0, 2, n)])
    return FingerTemplate(m, 388, 374, 500, 2, 77.0)


def test_finger_template_round_trip_keeps_minutiae():
    t = _finger()
    back = template_from_bytes(t.to_bytes())
    assert isinstance(back, FingerTemplate)
    assert np.allclose(back.minutiae[:, :2], t.minutiae[:, :2])
    assert np.allclose(back.minutiae[:, 2], t.minutiae[:, 2], atol=1e-4)
    assert (back.width, back.height, back.finger_position, back.quality) == (388, 374, 2, 77.0)


def test_real_template_round_trip_keeps_orientation_field(finger_templates):
    t = finger_templates["101_1"]
    back = template_from_bytes(t.to_bytes())
    assert t.orientation is not None and np.array_equal(back.orientation, t.orientation)
    assert back.orientation_block == t.orientation_block


def test_face_template_round_trip():
    t = FaceTemplate(np.random.default_rng(0).standard_normal(128), "m1", 88.0)
    back = template_from_bytes(t.to_bytes())
    assert isinstance(back, FaceTemplate) and back.model_id == "m1"
    assert np.allclose(back.embedding, t.embedding)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_parse_silently(data):
    with pytest.raises(CorruptTemplate):
        template_from_bytes(data)


@pytest.mark.parametrize("pos", [0, 5, 13, -5, -1])
def test_flipped_byte_is_detected(pos):
    raw = bytearray(_finger().to_bytes())
    raw[pos] ^= 0x40
    with pytest.raises(CorruptTemplate):
        template_from_bytes(bytes(raw))


def test_truncated_template_is_corrupt():
    with pytest.raises(CorruptTemplate):
        template_from_bytes(_finger().to_bytes()[:-7])


def test_iso19794_2_round_trip():
    t = _finger(40, seed=3)
    rec = to_iso19794_2(t)
    assert rec[:4] == b"FMR\x00" and len(rec) == 24 + 4 + 6 * 40 + 2
    back = from_iso19794_2(rec)
    assert np.array_equal(back.minutiae[:, :2], np.round(t.minutiae[:, :2]))
    d = np.abs((back.minutiae[:, 2] - t.minutiae[:, 2] + np.pi) % (2 * np.pi) - np.pi)
    assert d.max() <= np.pi / 256 + 1e-9
    assert np.array_equal(back.minutiae[:, 4], t.minutiae[:, 4])
    assert back.finger_position == 2 and back.ppi == 500


def test_iso19794_2_garbage_is_corrupt():
    with pytest.raises(CorruptTemplate):
        from_iso19794_2(b"FMR\x00 20\x00" + b"\x00" * 5)


def test_iso_export_of_real_template_still_matches(engine, finger_templates):
    a = finger_templates["101_1"]
    b = from_iso19794_2(to_iso19794_2(finger_templates["101_2"]))
    imp = engine.compare_fingers(a, finger_templates["102_2"])
    assert engine.compare_fingers(a, b) > imp
