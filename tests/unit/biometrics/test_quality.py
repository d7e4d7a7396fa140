"""Bad input gives typed errors and rejecting quality reports, never a crash or a silent zero."""

from __future__ import annotations

import numpy as np
import pytest

from ktpel.biometrics import (
    BiometricError,
    BlankImage,
    ImageTooSmall,
    NoFaceFound,
    NoRidgeStructure,
    NotAnImage,
)
from ktpel.biometrics.quality import finger_report
from ktpel.domain.identifying_fingers import IDENTIFYING_MIN_MINUTIAE
from ktpel.office.enrollment.policy import too_few_for_search

from .conftest import png_bytes


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00garbage"])
def test_non_image_bytes_are_rejected_as_not_an_image(engine, data):
    with pytest.raises(NotAnImage):
        engine.extract_finger(data)
    with pytest.raises(NotAnImage):
        engine.extract_face(data)
    rep = engine.finger_quality(data)
    assert not rep.ok and rep.score == 0 and rep.reasons[0].startswith("not_an_image")


def test_tiny_image_is_too_small(engine):
    tiny = png_bytes(np.full((20, 20), 128, np.uint8))
    with pytest.raises(ImageTooSmall):
        engine.extract_finger(tiny)
    with pytest.raises(ImageTooSmall):
        engine.extract_face(tiny)


def test_blank_grey_image_is_blank_for_fingerprint_and_faceless(engine):
    grey = png_bytes(np.full((300, 300), 128, np.uint8))
    with pytest.raises(BlankImage):
        engine.extract_finger(grey)
    with pytest.raises(NoFaceFound):
        engine.extract_face(grey)
    assert not engine.face_quality(grey).ok


def test_random_noise_has_no_ridge_structure(engine):
    noise = png_bytes(np.random.default_rng(1).integers(0, 256, (300, 300)).astype(np.uint8))
    with pytest.raises(NoRidgeStructure):
        engine.extract_finger(noise)
    rep = engine.finger_quality(noise)
    assert not rep.ok and "no_ridge_structure" in rep.reasons[0]


def test_face_photo_given_as_fingerprint_is_rejected(engine, face_bytes):
    from PIL import Image
    import io

    img = Image.open(io.BytesIO(face_bytes["s1_1"])).resize((276, 336))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    with pytest.raises(BiometricError) as err:
        engine.extract_finger(buf.getvalue())
    assert err.value.code in {"no_ridge_structure", "blank_image", "too_few_minutiae"}


def test_errors_carry_code_and_both_languages():
    err = NoFaceFound("x")
    d = err.to_dict()
    assert d["code"] == "no_face_found" and d["message_id"] and d["message_en"]


def test_real_fingerprint_has_acceptable_quality(engine, finger_bytes):
    rep = engine.finger_quality(finger_bytes["101_1"])
    assert rep.ok and 0 < rep.score <= 100


def test_real_face_has_acceptable_quality(engine, face_bytes):
    rep = engine.face_quality(face_bytes["s1_1"])
    assert rep.ok and rep.score > 50, rep.reasons


def test_face_too_small_in_a_large_photo_is_rejected(engine, face_bytes):
    import io

    from PIL import Image

    from ktpel.biometrics import FaceTooSmall

    face = Image.open(io.BytesIO(face_bytes["s1_1"])).convert("L").resize((23, 28))
    canvas = Image.new("L", (640, 480), 90)
    canvas.paste(face, (300, 200))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    try:
        engine.extract_face(buf.getvalue())
    except (FaceTooSmall, NoFaceFound) as err:  # either way: typed, never a silent template
        assert err.code in {"face_too_small", "no_face_found"}
    else:
        raise AssertionError("a 23-px face must not give a template")


@pytest.mark.parametrize("minutiae", [IDENTIFYING_MIN_MINUTIAE - 1, IDENTIFYING_MIN_MINUTIAE])
def test_a_thumb_the_counter_refuses_is_remarked_few_minutiae(minutiae):
    """The office's thumb rule and the quality remark share one floor: a refused thumb names its reason."""
    report = finger_report(70.0, n_minutiae=minutiae, foreground_px=60000, coherence=0.7)
    refused = too_few_for_search("finger_1", minutiae=minutiae)
    assert refused is (minutiae < IDENTIFYING_MIN_MINUTIAE)
    assert any(r.startswith("few_minutiae") for r in report.reasons) is refused
