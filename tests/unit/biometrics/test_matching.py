"""Genuine pairs outscore impostor pairs on real shared images; verify uses calibrated thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from ktpel.biometrics import ModalityMismatch
from ktpel.biometrics.fingerprint import mcc


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


# --- the compiled matcher against a direct NumPy evaluation of its formula (mcc docstring) ---


def _np_cylinders(xy, theta):
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    cx, cy = xy[:, :1] + c * mcc._GX - s * mcc._GY, xy[:, 1:] + s * mcc._GX + c * mcc._GY
    d2 = (cx[:, :, None] - xy[:, 0]) ** 2 + (cy[:, :, None] - xy[:, 1]) ** 2
    cs = np.exp(-d2 / (2 * mcc.SIGMA_S**2)) * ~np.eye(len(xy), dtype=bool)[:, None, :]
    dth = mcc.angdiff(theta[None, :], theta[:, None])[:, :, None]
    cd = np.exp(-mcc.angdiff(mcc._BINS, dth) ** 2 / (2 * mcc.SIGMA_D**2))
    v = 1 / (1 + np.exp(-20 * (np.einsum("mct,mtk->mck", cs, cd) - 0.3)))
    v = v.reshape(len(xy), -1)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _np_weight(fa, fb, sim, phi, tx, ty):
    c, s = np.cos(phi), np.sin(phi)
    px, py = c * fa.xy[:, 0] - s * fa.xy[:, 1] + tx, s * fa.xy[:, 0] + c * fa.xy[:, 1] + ty
    d2 = (px[:, None] - fb.xy[:, 0]) ** 2 + (py[:, None] - fb.xy[:, 1]) ** 2
    close = (d2 < mcc.DTOL**2) & (np.abs(mcc.angdiff(fa.theta[:, None] + phi, fb.theta)) < mcc.ATOL)
    w = np.where(close, np.maximum(sim, 0) * (1 - 0.5 * np.sqrt(d2) / mcc.DTOL), 0.0)
    return min(w.max(1).sum(), w.max(0).sum()), np.stack([px, py], 1), w


def _cross(u, v):
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _np_inside(pts, hull):
    nxt = np.roll(hull, -1, axis=0)
    cr = _cross(nxt - hull, pts[:, None] - hull) / (np.linalg.norm(nxt - hull, axis=1) + 1e-9)
    winding = -1 if np.sum(_cross(hull, nxt)) < 0 else 1
    return int((winding * cr >= -mcc.HULL_PAD).all(1).sum())


def _np_orientation(fa, fb, phi, tx, ty):
    if fa.o_xy is None or fb.o_grid is None:
        return mcc.ORIENT_REF
    q = fa.o_xy @ np.array([[np.cos(phi), np.sin(phi)], [-np.sin(phi), np.cos(phi)]]) + (tx, ty)
    b = np.floor(q / fb.block).astype(int)
    ok = (b >= 0).all(1) & (b[:, 0] < fb.o_grid.shape[1]) & (b[:, 1] < fb.o_grid.shape[0])
    d = fa.o_th[ok] + phi - fb.o_grid[b[ok, 1], b[ok, 0]]
    d = d[~np.isnan(d)]
    return float(np.mean(np.cos(2 * d))) if len(d) >= mcc.ORIENT_MIN_BLOCKS else 0.0


def _np_match(fa, fb):
    sim = fa.cyl @ fb.cyl.T
    seeds = np.argwhere(sim >= np.sort(sim.ravel())[-mcc.TOPK])  # ties at the cut-off: none here
    phis = fb.theta[seeds[:, 1]] - fa.theta[seeds[:, 0]]
    rot = np.stack([np.cos(phis), -np.sin(phis), np.sin(phis), np.cos(phis)], 1).reshape(-1, 2, 2)
    trs = [(p, *(fb.xy[j] - r @ fa.xy[i])) for p, r, (i, j) in zip(phis, rot, seeds)]
    weights = [_np_weight(fa, fb, sim, *tr)[0] for tr in trs]
    best = (0.0, (0.0, 0.0, 0.0))
    for m in np.argsort(weights)[::-1][: mcc.CONSOLIDATE]:
        weight, moved, w = _np_weight(fa, fb, sim, *trs[m])
        hull_t = fa.hull @ rot[m].T + trs[m][1:]
        overlap = (max(_np_inside(moved, fb.hull), mcc.KMIN)
                   * max(_np_inside(fb.xy, hull_t), mcc.KMIN))
        tr = trs[m]
        ia, ib = np.nonzero((w == w.max(1, keepdims=True)) & (w > 0))
        if len(ia) >= 3:  # Kabsch refit on the pairs
            ca, cb = fa.xy[ia].mean(0), fb.xy[ib].mean(0)
            phi = np.arctan2(np.sum(_cross(fa.xy[ia] - ca, fb.xy[ib] - cb)),
                             np.sum((fa.xy[ia] - ca) * (fb.xy[ib] - cb)))
            r = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
            refit = (phi, *(cb - r @ ca))
            if _np_weight(fa, fb, sim, *refit)[0] > weight:
                weight, tr = _np_weight(fa, fb, sim, *refit)[0], refit
        gain = np.exp(mcc.ORIENT_GAIN * (_np_orientation(fa, fb, *tr) - mcc.ORIENT_REF))
        if weight**2 / overlap * gain > best[0]:
            best = (weight**2 / overlap * gain, tuple(map(float, tr)))
    return best


def test_cylinders_kernel_matches_the_numpy_formula(finger_templates):
    f = finger_templates["102_1"].features
    assert f.cyl.dtype == np.float32
    assert np.abs(f.cyl - _np_cylinders(f.xy, f.theta)).max() < 1e-6


def test_cylinders_kernel_matches_the_formula_where_far_neighbours_are_skipped():
    """A large print (a 900 px square): most pairs lie beyond the kernel's reach and are skipped, and
    the grid's exponentials come from a recurrence; the cylinders still equal the direct formula."""
    rng = np.random.default_rng(3)
    xy, theta = rng.uniform(0, 900, (80, 2)), rng.uniform(-np.pi, np.pi, 80)
    reach = np.sqrt(mcc._GX**2 + mcc._GY**2).max() + np.sqrt(-2 * mcc.SIGMA_S**2 * np.log(1e-12))
    far = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) > reach
    assert far.mean() > 0.5  # the skip is exercised
    assert np.abs(mcc.cylinders(xy, theta) - _np_cylinders(xy, theta)).max() < 1e-6


@pytest.mark.parametrize(("a", "b", "field"), [
    ("101_1", "101_2", True), ("103_2", "103_3", False),  # genuine
    ("101_1", "102_2", True), ("102_3", "103_1", False),  # impostor
])
def test_compiled_matcher_matches_the_numpy_formula(finger_templates, a, b, field):
    fa, fb = finger_templates[a].features, finger_templates[b].features
    if not field:  # ISO-imported templates carry no orientation field
        fb = mcc.prepare(finger_templates[b].minutiae)
    score, tr = mcc.match_detail(fa, fb)
    ref_score, ref_tr = _np_match(fa, fb)
    assert score == pytest.approx(ref_score, rel=1e-6)
    assert tr == pytest.approx(ref_tr, abs=1e-6)


def test_compiled_matcher_ranks_genuine_above_impostor(finger_templates):
    f = {k: t.features for k, t in finger_templates.items()}
    genuine = mcc.match(f["101_1"], f["101_3"])
    assert genuine > 10 * max(mcc.match(f["101_1"], f["102_3"]), mcc.match(f["101_1"], f["103_3"]))
    assert mcc.match(f["101_1"], f["101_1"]) > genuine
    few = mcc.prepare(finger_templates["101_1"].minutiae[:2])
    assert mcc.match_detail(f["101_1"], few) == (0.0, (0.0, 0.0, 0.0))


def test_pairwise_sum_adds_in_numpys_order_bit_for_bit():
    """The kernels' sums (a cylinder's norm, the match's row and column maxima) equal NumPy's to the
    last bit, on both sides of each unrolled depth (128, 248, 488) and on the explicit stack past them."""
    k = mcc._kernels()
    rng = np.random.default_rng(5)
    for n in [0, 1, 7, 8, 127, 128, 129, 247, 248, 249, 311, 312, 487, 488, 489, 1000, 4099]:
        for dtype, zero in ((np.float32, np.float32(0.0)), (np.float64, 0.0)):
            a = (rng.standard_normal(n) * 10 ** rng.uniform(-3, 3, n)).astype(dtype)
            assert k._pairwise_sum(a, 0, n, zero) == np.add.reduce(a), (n, dtype)
