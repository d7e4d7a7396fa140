"""MCC-LSH finger index, compact gallery storage, bytes per identity, synthetic template generator."""

from __future__ import annotations

import numpy as np
import pytest

from ktpel.biometrics.fingerprint import synthetic as syn
from ktpel.biometrics.fingerprint.compact import pack_fingers, unpack_fingers
from ktpel.biometrics.fingerprint.index import FingerIndex, finger_keys, probe_keys
from ktpel.biometrics.gallery import Gallery, ShardedGallery


@pytest.fixture(scope="module")
def bank(finger_templates):
    return syn.FieldBank.from_templates(list(finger_templates.values()))


@pytest.fixture(scope="module")
def distractors(bank):
    """300 synthetic fingers on the real prints' own fields: harder than unrelated real fingers."""
    rng = np.random.default_rng(21)
    return syn.impress(bank, syn.make_masters(bank, rng, 300), rng)


def _positioned(t, position):
    return syn.with_position(t, position)


def test_index_finds_fvc_mates_from_fingers_alone(engine, finger_templates, distractors):
    """Gallery: impression 1 of three real fingers among 300 synthetic ones; probes: impressions 2, 3.
    Fingers only (no face): the mate must be the first candidate of the index and of identify()."""
    g = Gallery(engine=engine)
    for k, t in enumerate(distractors):
        g.insert(f"D{k:03d}", [_positioned(t, 2)])
    for f in (101, 102, 103):
        g.insert(f"F{f}", [_positioned(finger_templates[f"{f}_1"], 2)])
    for f in (101, 102, 103):
        for i in (2, 3):
            probe = [_positioned(finger_templates[f"{f}_{i}"], 2)]
            cands = g.candidates(probe, limit=5)
            assert cands["finger"][0][1] == f"F{f}"
            assert g.identify(probe)[0].reference_id == f"F{f}"


def test_fingers_outside_the_index_are_scored_but_do_not_propose(engine, finger_templates):
    g = Gallery(engine=engine, indexed_positions=(2, 7))
    g.insert("A", [_positioned(finger_templates["101_1"], 3)])  # middle finger: not indexed
    probe = [_positioned(finger_templates["101_2"], 3)]
    assert "finger" not in g.candidates(probe)
    (c,) = g.score(probe, ["A"])
    assert c.normalised["finger_3"] > 3


def test_insert_and_remove_are_idempotent(engine, finger_templates):
    g, only_b = Gallery(engine=engine), Gallery(engine=engine)
    t1, t2 = _positioned(finger_templates["101_1"], 1), _positioned(finger_templates["102_1"], 1)
    g.insert("A", [t1])
    g.insert("A", [t1])  # the same again: still one reference, same answers
    assert len(g) == 1
    probe = [_positioned(finger_templates["101_2"], 1)]
    assert [r for _, r in g.candidates(probe)["finger"]] == ["A"]
    g.insert("B", [t2])
    only_b.insert("B", [t2])
    assert g.discard("A") is True
    assert g.discard("A") is False  # absent: nothing happens
    assert "A" not in g and len(g) == 1
    assert all(r != "A" for _, r in g.candidates(probe).get("finger", []))
    for x in (g, only_b):
        x._finger_index[1].compact()  # removed postings go at the next merge
    assert g._finger_index[1].postings() == only_b._finger_index[1].postings() > 0


def test_finger_index_remove_unknown_owner_is_a_no_op():
    idx = FingerIndex()
    idx.remove(5)
    assert len(idx) == 0
    idx.add(3, np.array([[1, 2] + [0] * 22], np.uint32)[:, :24])
    idx.remove(3)
    idx.remove(3)
    assert len(idx) == 0


def test_save_load_and_shards_keep_finger_answers(engine, finger_templates, distractors, tmp_path):
    one, many = Gallery(engine=engine), ShardedGallery(3, engine=engine)
    for k, t in enumerate(distractors[:60]):
        for g in (one, many):
            g.insert(f"D{k:03d}", [_positioned(t, 7)])
    for f in (101, 102, 103):
        for g in (one, many):
            g.insert(f"F{f}", [_positioned(finger_templates[f"{f}_1"], 7)])
    one.save(tmp_path / "g")
    back = Gallery.load(tmp_path / "g", engine=engine)
    probe = [_positioned(finger_templates["102_3"], 7)]
    a = one.candidates(probe)["finger"]
    assert back.candidates(probe)["finger"] == a
    assert [(c.reference_id, round(c.fused, 6)) for c in one.identify(probe)] == \
        [(c.reference_id, round(c.fused, 6)) for c in many.identify(probe)]
    assert a[0][1] == "F102"


def test_compact_fingers_round_trip_keeps_minutiae_and_field(finger_templates):
    t = finger_templates["101_1"]
    back = unpack_fingers(pack_fingers({2: _positioned(t, 2)}))[2]
    assert back.finger_position == 2
    np.testing.assert_array_equal(np.round(back.minutiae[:, :2]), np.round(t.minutiae[:, :2]))
    assert np.abs(np.angle(np.exp(1j * (back.minutiae[:, 2] - t.minutiae[:, 2])))).max() < 1e-4
    fg = t.orientation > 0
    np.testing.assert_array_equal(back.orientation > 0, fg)
    step = np.abs(back.orientation[fg].astype(int) - t.orientation[fg].astype(int))
    assert step.max() <= 3  # ≤ 1.4° (one u8 level is 0.7°)
    assert len(pack_fingers({2: t})) < 0.7 * len(t.to_bytes())


def test_bytes_per_identity_stay_within_budget(engine, bank, finger_templates):
    """Face + ten fingers (four indexed) per identity: under 16 KB each at a tiny gallery, where the
    index's per-bucket overhead weighs most (docs/biometrics.md gives the figure at 100k)."""
    rng = np.random.default_rng(4)
    face_model = engine.extract_face  # noqa: F841 - the engine is loaded anyway
    from ktpel.biometrics.templates import FaceTemplate

    g = Gallery(engine=engine)
    masters = [syn.make_masters(bank, rng, 40) for _ in range(10)]
    fingers = [syn.impress(bank, m, rng) for m in masters]
    for k in range(40):
        face = FaceTemplate(rng.standard_normal(128).astype(np.float32), "sface-test")
        g.insert(f"P{k}", [face] + [_positioned(fingers[p][k], p + 1) for p in range(10)])
    b = g.bytes_per_identity()
    assert set(b) == {"face", "finger_index", "finger_templates", "references", "total"}
    assert b["face"] <= 2 * 128 * 2 + 64  # float16 store + float16 index codes
    assert b["finger_templates"] < 10 * 700
    assert b["total"] < 16_000


def test_synthetic_fingers_look_like_real_ones(engine, bank):
    rng = np.random.default_rng(8)
    ms = syn.make_masters(bank, rng, 120)
    a, b = syn.impress(bank, ms, rng), syn.impress(bank, ms, rng)
    counts = np.array([len(t.minutiae) for t in a])
    assert 18 <= counts.mean() <= 45  # FVC: 31 on average (5-95 %: 15-52)
    assert all(t.orientation is not None and (t.orientation > 0).any() for t in a)
    assert not np.array_equal(a[0].minutiae, b[0].minutiae)  # two impressions differ
    cal = engine.calibration
    z_gen = np.array([cal.normalise("finger", engine.compare_fingers(a[i], b[i])) for i in range(60)])
    z_imp = np.array([cal.normalise("finger", engine.compare_fingers(a[i], b[i + 1])) for i in range(119)])
    assert np.median(z_gen) > 6 and np.mean(z_gen >= 3) > 0.9  # mates match like FVC mates
    assert np.mean(z_imp >= 1) < 0.2 and np.mean(z_imp >= 3) < 0.02  # strangers look like strangers


def test_probe_keys_include_the_plain_keys(finger_templates):
    t = finger_templates["103_2"]
    keys, tables = probe_keys(t.minutiae)
    plain = finger_keys(t.minutiae)
    per = keys.shape[1] // plain.shape[1]
    np.testing.assert_array_equal(keys[:, ::per], plain)
    assert tables[::per].tolist() == list(range(plain.shape[1]))
