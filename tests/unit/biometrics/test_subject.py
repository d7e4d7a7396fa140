"""Subject selection on real-photo composites: ORL faces pasted beside a subject or side by side."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ktpel.biometrics import FaceTemplate, MultipleFaces, template_from_bytes
from ktpel.biometrics import composite as comp


def _orl(bio_data, person: int, shot: int) -> np.ndarray:
    return cv2.imread(str(bio_data / "faces" / "att_orl" / f"s{person}" / f"{shot}.pgm"), cv2.IMREAD_GRAYSCALE)


@pytest.mark.parametrize("person,other,size,side", [(1, 2, 0.5, 1), (7, 30, 0.7, -1), (22, 5, 0.85, 1)])
def test_small_background_face_is_accepted_with_a_warning(engine, bio_data, person, other, size, side):
    photo = comp.png(comp.with_background_face(_orl(bio_data, person, 1), _orl(bio_data, other, 2),
                                               relative_size=size, side=side))
    rep = engine.face_quality(photo)
    assert rep.ok, rep.reasons
    assert rep.measures["other_faces"] >= 1 and any(w.startswith("second_face:") for w in rep.warnings)
    # the subject, not the background face, is the one enrolled: it matches the subject's own photo
    alone = engine.extract_face((bio_data / "faces" / "att_orl" / f"s{person}" / "3.pgm").read_bytes())
    intruder = engine.extract_face((bio_data / "faces" / "att_orl" / f"s{other}" / "3.pgm").read_bytes())
    t = engine.extract_face(photo)
    assert engine.verify(t, alone)[0]
    assert not engine.verify(t, intruder)[0]


@pytest.mark.parametrize("left,right", [(1, 2), (13, 34), (40, 19)])
def test_two_similar_faces_side_by_side_are_refused_with_the_reason(engine, bio_data, left, right):
    photo = comp.png(comp.side_by_side(_orl(bio_data, left, 1), _orl(bio_data, right, 1)))
    with pytest.raises(MultipleFaces) as err:
        engine.extract_face(photo)
    assert "ambil ulang foto" in err.value.message_id
    rep = engine.face_quality(photo)
    assert not rep.ok and rep.reasons[0].startswith("multiple_faces:")


def test_a_lone_face_has_no_warning(engine, bio_data):
    rep = engine.face_quality((bio_data / "faces" / "att_orl" / "s1" / "1.pgm").read_bytes())
    assert rep.ok and rep.warnings == [] and rep.measures["other_faces"] == 0


def test_face_template_with_second_embedding_round_trips(engine, bio_data):
    t = engine.extract_face((bio_data / "faces" / "att_orl" / "s4" / "1.pgm").read_bytes())
    assert t.aux is not None and t.aux_model_id == "dlib-resnet-v1" and t.aux.shape == (128,)
    back = template_from_bytes(t.to_bytes())
    assert isinstance(back, FaceTemplate) and back.aux_model_id == t.aux_model_id
    assert np.allclose(back.aux, t.aux) and np.allclose(back.embedding, t.embedding)
    assert engine.compare_faces(back, t) == pytest.approx(engine.compare_faces(t, t), abs=1e-5)


def _face(x: float, y: float, size: float, score: float = 0.9):
    from ktpel.biometrics.face import DetectedFace

    # a frontal layout: eyes at 30 %/70 % width, 40 % height; nose centre; mouth corners at 75 % height
    lm = np.array([[x + 0.3 * size, y + 0.4 * size], [x + 0.7 * size, y + 0.4 * size],
                   [x + 0.5 * size, y + 0.6 * size], [x + 0.35 * size, y + 0.75 * size],
                   [x + 0.65 * size, y + 0.75 * size]], np.float32)
    return DetectedFace((x, y, size, size * 1.2), lm, score)


def test_a_big_face_at_the_edge_does_not_beat_a_centred_subject():
    from ktpel.biometrics.face import select_subject

    centred, edge = _face(250, 150, 100), _face(0, 0, 110)  # the edge face is even larger
    choice = select_subject([edge, centred], width=600, height=450)
    assert choice.face is centred and choice.others == (edge,) and choice.runner_up_ratio < 0.75


def test_two_equal_faces_equally_off_centre_are_refused_and_size_alone_decides_nothing():
    from ktpel.biometrics.face import select_subject

    with pytest.raises(MultipleFaces):
        select_subject([_face(100, 150, 100), _face(400, 150, 100)], width=600, height=450)
    # a face with implausible landmarks (eyes collapsed together: a profile or a false detection)
    junk = _face(250, 150, 100)
    junk = type(junk)(junk.box, np.tile(junk.landmarks[2], (5, 1)), 0.9)
    choice = select_subject([junk, _face(60, 160, 90)], width=600, height=450)
    assert choice.face is not junk
