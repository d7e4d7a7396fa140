"""The NumPy forward pass of dlib's ResNet face descriptor gives dlib's own descriptor."""

from __future__ import annotations

import numpy as np
import pytest

from ktpel.biometrics import BiometricError, imageio
from ktpel.biometrics.dlib_resnet import DlibResNet
from ktpel.biometrics.engine import subject_of
from ktpel.biometrics.face import DlibResNetModel


@pytest.fixture(scope="module")
def dlib_model():
    return DlibResNetModel()


@pytest.mark.parametrize("person,shot", [(1, 1), (9, 4), (23, 7), (38, 10)])
def test_descriptor_equals_dlibs_own(engine, bio_data, dlib_model, person, shot):
    import dlib
    import face_recognition_models as frm

    bgr = imageio.decode_bgr((bio_data / "faces" / "att_orl" / f"s{person}" / f"{shot}.pgm").read_bytes(), min_side=48)
    chip = dlib_model.chip(bgr, subject_of(engine.face_model, bgr).face)
    theirs = np.array(dlib.face_recognition_model_v1(frm.face_recognition_model_location())
                      .compute_face_descriptor(chip))
    ours = dlib_model._net.descriptor(chip)
    # same network, same weights: only float rounding differs (the descriptor's components are ~0.1)
    assert np.abs(ours - theirs).max() < 1e-4
    assert float(np.linalg.norm(theirs)) > 0.5


def test_a_colour_chip_uses_the_channels_in_dlibs_order(dlib_model):
    import dlib
    import face_recognition_models as frm

    rng = np.random.default_rng(7)
    chip = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    theirs = np.array(dlib.face_recognition_model_v1(frm.face_recognition_model_location())
                      .compute_face_descriptor(chip))
    assert np.abs(dlib_model._net.descriptor(chip) - theirs).max() < 1e-4
    # swapping red and blue changes the descriptor: the test above would see a channel mix-up
    assert np.abs(dlib_model._net.descriptor(chip[:, :, ::-1].copy()) - theirs).max() > 1e-3


def test_another_weight_file_or_chip_size_is_refused(tmp_path, dlib_model):
    bad = tmp_path / "shape_predictor.dat"
    bad.write_bytes(b"\x01\x01\x01\x05con_4" + bytes(64))
    with pytest.raises(BiometricError):
        DlibResNet(bad)
    with pytest.raises(BiometricError):
        dlib_model._net.descriptor(np.zeros((112, 112, 3), np.uint8))


def test_templates_stored_before_keep_comparing_as_before(engine, bio_data, dlib_model):
    """Templates whose dlib part came from dlib's own network, and SFace-only templates from before
    the fusion, compare with today's templates exactly as before (the model ids did not change)."""
    import dlib
    import face_recognition_models as frm

    from ktpel.biometrics import FaceTemplate, template_from_bytes

    photo = (bio_data / "faces" / "att_orl" / "s5" / "2.pgm").read_bytes()
    same_person = engine.extract_face((bio_data / "faces" / "att_orl" / "s5" / "6.pgm").read_bytes())
    new = engine.extract_face(photo)
    bgr = imageio.decode_bgr(photo, min_side=48)
    chip = dlib_model.chip(bgr, subject_of(engine.face_model, bgr).face)
    by_dlib = np.array(dlib.face_recognition_model_v1(frm.face_recognition_model_location())
                       .compute_face_descriptor(chip), dtype=np.float32)
    stored = template_from_bytes(FaceTemplate(new.embedding, new.model_id, new.quality, by_dlib,
                                              "dlib-resnet-v1").to_bytes())
    assert engine.compare_faces(stored, same_person) == pytest.approx(engine.compare_faces(new, same_person),
                                                                       abs=1e-5)
    sface_only = template_from_bytes(FaceTemplate(new.embedding, new.model_id, new.quality).to_bytes())
    assert engine.compare_faces(sface_only, same_person) == pytest.approx(
        float(new.embedding @ same_person.embedding), abs=1e-6)
    assert engine.verify(sface_only, same_person)[0] and engine.verify(stored, same_person)[0]
