"""Minutia-triangle finger index (fingerprint/triangles.py) and its place in the gallery."""

from __future__ import annotations

import numpy as np
import pytest

from ktpel.biometrics import gallery as gal
from ktpel.biometrics.fingerprint import synthetic as syn
from ktpel.biometrics.fingerprint import triangles as tri
from ktpel.biometrics.gallery import Gallery, ShardedGallery


def _moved(minutiae: np.ndarray, *, degrees: float, dx: float, dy: float) -> np.ndarray:
    """The same finger placed otherwise on the sensor: rotated about (200, 200), then shifted."""
    m = np.array(minutiae, np.float64)
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    x, y = m[:, 0] - 200, m[:, 1] - 200
    m[:, 0], m[:, 1] = 200 + c * x - s * y + dx, 200 + s * x + c * y + dy
    m[:, 2] = np.mod(m[:, 2] + a, 2 * np.pi)
    return m


def _index(fingers: list[np.ndarray]) -> tri.TriangleIndex:
    idx = tri.TriangleIndex()
    for owner, m in enumerate(fingers):
        idx.add(owner, *tri.finger_triangles(m))
    return idx


def _votes(idx: tri.TriangleIndex, minutiae: np.ndarray) -> dict[int, int]:
    owners, votes = idx.search(tri.probe_triangles(minutiae))
    return dict(zip(owners.tolist(), votes.astype(int).tolist()))


def test_keys_ignore_rotation_and_translation(finger_templates):
    m = finger_templates["101_1"].minutiae
    keys, _ = tri.finger_triangles(m)
    moved = tri.probe_triangles(_moved(m, degrees=37, dx=-40, dy=25))
    assert len(keys) > 100
    # every stored triangle is among the moved copy's lookups, but for a side or angle within float
    # rounding of a bin edge that moved to the other side and was not near enough to be looked up
    assert np.isin(keys, moved.keys).mean() > 0.97


def test_a_moved_copy_votes_for_one_pose_and_ranks_first(finger_templates, distractors):
    """Real FVC fingers among 300 synthetic ones: a rotated, shifted copy's triangles agree on one pose
    (nearly all of them), while the strangers' chance collisions scatter."""
    fvc = [finger_templates[f"{f}_1"].minutiae for f in (101, 102, 103)]
    idx = _index([t.minutiae for t in distractors] + fvc)
    for k, m in enumerate(fvc):
        mate = len(distractors) + k
        votes = _votes(idx, _moved(m, degrees=-20 + 15 * k, dx=30, dy=-12))
        n = len(tri.finger_triangles(m)[0])
        assert votes[mate] >= 0.8 * n
        assert max(v for o, v in votes.items() if o != mate) < 0.2 * votes[mate]


def test_second_impressions_of_real_fingers_rank_first(finger_templates, distractors):
    idx = _index([t.minutiae for t in distractors] + [finger_templates[f"{f}_1"].minutiae for f in (101, 102, 103)])
    for k, f in enumerate((101, 102, 103)):
        for i in (2, 3):
            votes = _votes(idx, finger_templates[f"{f}_{i}"].minutiae)
            best = max(votes, key=lambda o: (votes[o], -o))
            assert best == len(distractors) + k, (f, i)


def test_removed_owners_are_not_found_and_merges_drop_their_postings(finger_templates, distractors):
    fingers = [t.minutiae for t in distractors[:40]] + [finger_templates["101_1"].minutiae]
    idx = _index(fingers)
    probe = finger_templates["101_2"].minutiae
    before = _votes(idx, probe)
    assert 40 in before
    postings = idx.postings()
    idx.remove(40)
    idx.remove(40)  # idempotent
    idx.remove(9999)  # unknown: a no-op
    assert len(idx) == 40
    after = _votes(idx, probe)
    assert 40 not in after and after == {o: v for o, v in before.items() if o != 40}
    idx.compact()
    assert idx.postings() == postings - len(tri.finger_triangles(fingers[40])[0])
    assert _votes(idx, probe) == after


def test_segments_merged_answer_like_one_built_at_once(monkeypatch, distractors, finger_templates):
    """Many small flushes (and the merges they cascade into) answer exactly as one segment does."""
    fingers = [t.minutiae for t in distractors[:120]]
    whole = _index(fingers)
    whole.compact()
    monkeypatch.setattr(tri, "PENDING_MAX", 7)
    pieces = _index(fingers)
    assert len(pieces._segments) > 1
    for f in ("101_1", "102_2", "103_3"):
        assert _votes(pieces, finger_templates[f].minutiae) == _votes(whole, finger_templates[f].minutiae)


def test_bad_postings_are_refused():
    idx = tri.TriangleIndex()
    with pytest.raises(ValueError):
        idx.add(-1, np.zeros(1, np.uint32), np.zeros(1, np.uint32))
    with pytest.raises(ValueError):
        idx.add(0, np.zeros(2, np.uint32), np.zeros(1, np.uint32))
    assert len(idx) == 0 and idx.postings() == 0


def _thumbs(t, *, position: int = 1):
    return [syn.with_position(t, position)]


def test_the_gallery_proposes_the_triangle_indexs_best_with_their_lead(engine, finger_templates, distractors):
    """A thumb-only gallery: the triangle index proposes the mate with the probe finger that found it;
    with triangles off, no such proposal exists."""
    on, off = Gallery(engine=engine), Gallery(engine=engine, triangle_positions=())
    for g in (on, off):
        for k, t in enumerate(distractors[:100]):
            g.insert(f"D{k:03d}", _thumbs(t))
        g.insert("F101", _thumbs(finger_templates["101_1"]))
    probe = [syn.with_position(distractors[0], 2), syn.with_position(finger_templates["101_2"], 1)]
    got = on.candidates(probe)
    assert got["finger_triangles"][0][1] == "F101"
    assert len(got["finger_triangles"]) <= gal.TRIANGLE_CANDIDATES
    assert got[gal.LEAD_TRIANGLES]["F101"] == 1  # the thumb, not the unindexed index finger
    assert "finger_triangles" not in off.candidates(probe)
    assert on.identify(probe)[0].reference_id == "F101"
    assert on.triangle_scores([probe[1]])["F101"] > 0
    on.delete("F101")
    assert "F101" not in on.triangle_scores([probe[1]])


def test_merged_leads_follow_the_list_that_kept_each_reference():
    """A reference kept only by the triangles takes their lead; one kept by the LSH takes the LSH's,
    even when a shard's triangles named another; a lead of a dropped proposal is not kept."""
    a = {"finger": [(3.0, "A"), (1.0, "C")], gal.LEAD: {"A": 0, "C": 0},
         "finger_triangles": [(9.0, "B"), (5.0, "A")], gal.LEAD_TRIANGLES: {"B": 1, "A": 1}}
    b = {"finger": [(2.0, "D")], gal.LEAD: {"D": 2}}
    refs, lead = gal.merge_proposals([a, b], limit=2)
    assert refs == ["A", "B", "D"]
    assert lead == {"A": 0, "B": 1, "D": 2}


def test_shards_answer_like_one_gallery_with_both_finger_indexes(engine, finger_templates, distractors):
    one, sharded = Gallery(engine=engine), ShardedGallery(3, engine=engine)
    for g in (one, sharded):
        for k, t in enumerate(distractors[:150]):
            g.insert(f"D{k:03d}", _thumbs(t, position=1 + 5 * (k % 2)))
        for f in (101, 102, 103):
            g.insert(f"F{f}", _thumbs(finger_templates[f"{f}_1"]))
    for f in (101, 102, 103):
        probe = _thumbs(finger_templates[f"{f}_3"])
        for limit in (5, 50):
            a = [c.to_dict() for c in one.identify(probe, limit=limit)]
            assert a == [c.to_dict() for c in sharded.identify(probe, limit=limit)]
        assert one.identify(probe)[0].reference_id == f"F{f}"


def test_segments_stop_growing_at_the_cap_and_answer_alike(monkeypatch, distractors, finger_templates):
    fingers = [t.minutiae for t in distractors[:90]]
    whole = _index(fingers)
    whole.compact()
    monkeypatch.setattr(tri, "PENDING_MAX", 5)
    monkeypatch.setattr(tri, "SEGMENT_MAX", 3_000)
    capped = _index(fingers)
    capped.remove(3)
    capped.compact()
    assert len(capped._segments) > 1 and max(s.postings for s in capped._segments) <= 3_000
    whole.remove(3)
    for f in ("101_1", "102_2"):
        assert _votes(capped, finger_templates[f].minutiae) == _votes(whole, finger_templates[f].minutiae)
