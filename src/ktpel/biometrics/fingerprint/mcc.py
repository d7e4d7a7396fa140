"""Local-structure fingerprint matcher: MCC-style cylinders, alignment consolidation, overlap norm.

1. Each minutia gets a cylinder: a rotation-invariant grid (NS × NS cells within radius R, ND
   direction bins) of its neighbours, Gaussian in space and in relative direction, saturated by a
   sigmoid and L2-normalised (Cappelli, Ferrara & Maltoni 2010, simplified: no validity mask).
2. Local similarities of all pairs are one matrix product.
3. The TOPK most similar pairs each propose a rigid alignment; every alignment is scored by
   pairing the aligned minutiae within DTOL pixels and ATOL radians, weighted by local similarity.
4. For the CONSOLIDATE best alignments, the weight is normalised by the number of minutiae of
   each print that fall inside the other's (aligned) convex hull (partial overlaps are not punished
   for missing minutiae) and multiplied by exp(ORIENT_GAIN · (o - ORIENT_REF)), o being the mean
   cos 2Δθ of the two block orientation fields over their overlap under that alignment (o = 0
   when they barely overlap; neutral when a template has no field, e.g. imported from ISO).
   The best of these is the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

RADIUS = 70.0
NS = 8
ND = 6
SIGMA_S = 28.0 / 3.0
SIGMA_D = 2 * np.pi / 9
TOPK = 12
DTOL = 14.0
ATOL = np.pi / 6
KMIN = 12
HULL_PAD = 8.0
CONSOLIDATE = 2
REFINE = 1
ORIENT_GAIN = 12.0
ORIENT_REF = 0.8
ORIENT_MIN_BLOCKS = 5


@dataclass(frozen=True)
class Features:
    """Matcher-ready view of a template."""

    xy: np.ndarray  # (n, 2)
    theta: np.ndarray  # (n,)
    cyl: np.ndarray  # (n, d) float32, unit rows
    hull: np.ndarray  # (h, 2)
    block: int = 0  # orientation block size, 0 = no field
    o_xy: np.ndarray | None = None  # (k, 2) centres of foreground blocks
    o_th: np.ndarray | None = None  # (k,) their ridge-normal angles
    o_grid: np.ndarray | None = None  # (rows, cols) angles, NaN = background


def angdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed difference a-b wrapped to [-π, π)."""
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def _grid() -> tuple[np.ndarray, np.ndarray]:
    ds = 2 * RADIUS / NS
    g = (np.arange(NS) - (NS - 1) / 2) * ds
    gx, gy = np.meshgrid(g, g, indexing="ij")
    gx, gy = gx.ravel(), gy.ravel()
    keep = gx**2 + gy**2 <= RADIUS**2
    return gx[keep], gy[keep]


_GX, _GY = _grid()
_BINS = -np.pi + (np.arange(ND) + 0.5) * 2 * np.pi / ND
DIM = _GX.size * ND


def cylinders(xy: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Unit-norm cylinder descriptor per minutia, shape (n, DIM)."""
    n = len(xy)
    if n == 0:
        return np.zeros((0, DIM), np.float32)
    c, s = np.cos(theta), np.sin(theta)
    cx = xy[:, 0, None] + c[:, None] * _GX - s[:, None] * _GY
    cy = xy[:, 1, None] + s[:, None] * _GX + c[:, None] * _GY
    dx = cx[:, :, None] - xy[None, None, :, 0]
    dy = cy[:, :, None] - xy[None, None, :, 1]
    cs = np.exp(-(dx**2 + dy**2) / (2 * SIGMA_S**2))
    cs *= (~np.eye(n, dtype=bool))[:, None, :]
    dth = angdiff(theta[None, :], theta[:, None])
    cd = np.exp(-angdiff(_BINS[None, None, :], dth[:, :, None]) ** 2 / (2 * SIGMA_D**2))
    v = np.einsum("mct,mtk->mck", cs, cd)
    v = 1.0 / (1.0 + np.exp(-20.0 * (v - 0.3)))
    v = v.reshape(n, -1).astype(np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


def _hull(xy: np.ndarray) -> np.ndarray:
    if len(xy) < 3:
        return xy.astype(np.float64)
    return cv2.convexHull(xy.astype(np.float32)).reshape(-1, 2).astype(np.float64)


def prepare(minutiae: np.ndarray, orientation: np.ndarray | None = None, block: int = 0) -> Features:
    """Compute the matcher's features from (n, 5) minutiae and an optional orientation field."""
    xy = np.ascontiguousarray(minutiae[:, :2], dtype=np.float64)
    theta = np.ascontiguousarray(minutiae[:, 2], dtype=np.float64)
    if orientation is None or not block:
        return Features(xy, theta, cylinders(xy, theta), _hull(xy))
    grid = np.where(orientation > 0, (orientation.astype(np.float64) - 1) / 255 * np.pi, np.nan)
    rr, cc = np.nonzero(orientation > 0)
    o_xy = np.stack([cc * block + block / 2, rr * block + block / 2], 1).astype(np.float64)
    return Features(xy, theta, cylinders(xy, theta), _hull(xy), block, o_xy, grid[rr, cc], grid)


def _orientation_agreement(fa: Features, fb: Features, phi: float, tx: float, ty: float) -> float:
    if fa.o_xy is None or fb.o_grid is None:
        return ORIENT_REF
    c, s = np.cos(phi), np.sin(phi)
    qx = c * fa.o_xy[:, 0] - s * fa.o_xy[:, 1] + tx
    qy = s * fa.o_xy[:, 0] + c * fa.o_xy[:, 1] + ty
    bi = np.floor(qy / fb.block).astype(np.int64)
    bj = np.floor(qx / fb.block).astype(np.int64)
    rows, cols = fb.o_grid.shape
    ok = (bi >= 0) & (bi < rows) & (bj >= 0) & (bj < cols)
    if not ok.any():
        return 0.0
    tb = fb.o_grid[bi[ok], bj[ok]]
    ta = fa.o_th[ok]
    keep = ~np.isnan(tb)
    if keep.sum() < ORIENT_MIN_BLOCKS:
        return 0.0
    return float(np.mean(np.cos(2 * (ta[keep] + phi - tb[keep]))))


def _inside(pts: np.ndarray, hull: np.ndarray, pad: float) -> np.ndarray:
    if len(hull) < 3:
        return np.zeros(len(pts), dtype=bool)
    a, b = hull, np.roll(hull, -1, axis=0)
    e = b - a
    length = np.linalg.norm(e, axis=1) + 1e-9
    cr = (e[None, :, 0] * (pts[:, None, 1] - a[None, :, 1])
          - e[None, :, 1] * (pts[:, None, 0] - a[None, :, 0])) / length
    if np.sum(a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]) < 0:
        cr = -cr
    return (cr >= -pad).all(axis=1)


def _pair_weight(fa: Features, fb: Features, sim: np.ndarray, phi: float, t_x: float, t_y: float
                 ) -> tuple[float, np.ndarray]:
    """Consolidated weight of one alignment and the (n_a, n_b) mask of paired minutiae."""
    c, s = np.cos(phi), np.sin(phi)
    tx = c * fa.xy[:, 0] - s * fa.xy[:, 1] + t_x
    ty = s * fa.xy[:, 0] + c * fa.xy[:, 1] + t_y
    d2 = (tx[:, None] - fb.xy[None, :, 0]) ** 2 + (ty[:, None] - fb.xy[None, :, 1]) ** 2
    close = (d2 < DTOL**2) & (np.abs(angdiff(fa.theta[:, None] + phi, fb.theta[None, :])) < ATOL)
    w = np.where(close, np.maximum(sim, 0.0) * (1.0 - 0.5 * np.sqrt(d2) / DTOL), 0.0)
    return float(min(w.max(1).sum(), w.max(0).sum())), close & (w == w.max(1, keepdims=True)) & (w > 0)


def _refine(fa: Features, fb: Features, pairs: np.ndarray) -> tuple[float, float, float] | None:
    """Least-squares rigid transform from paired minutiae (Kabsch in 2-D), None if under 3 pairs."""
    ia, ib = np.nonzero(pairs)
    if len(ia) < 3:
        return None
    pa, pb = fa.xy[ia], fb.xy[ib]
    ca, cb = pa.mean(0), pb.mean(0)
    qa, qb = pa - ca, pb - cb
    phi = float(np.arctan2(np.sum(qa[:, 0] * qb[:, 1] - qa[:, 1] * qb[:, 0]), np.sum(qa * qb)))
    c, s = np.cos(phi), np.sin(phi)
    return phi, float(cb[0] - (c * ca[0] - s * ca[1])), float(cb[1] - (s * ca[0] + c * ca[1]))


def match(fa: Features, fb: Features) -> float:
    """Similarity of two prints, ≥ 0 (0 = nothing in common); symmetric up to ties."""
    return match_detail(fa, fb)[0]


def match_detail(fa: Features, fb: Features) -> tuple[float, tuple[float, float, float]]:
    """Score and the rigid transform (rotation, tx, ty) taking print A onto print B."""
    na, nb = len(fa.xy), len(fb.xy)
    if na < 3 or nb < 3:
        return 0.0, (0.0, 0.0, 0.0)
    sim = fa.cyl @ fb.cyl.T
    k = min(TOPK, sim.size)
    flat = np.argpartition(sim.ravel(), -k)[-k:]
    ii, jj = np.unravel_index(flat, sim.shape)
    phi = fb.theta[jj] - fa.theta[ii]
    c, s = np.cos(phi), np.sin(phi)
    ax = fa.xy[None, :, 0] - fa.xy[ii, 0, None]
    ay = fa.xy[None, :, 1] - fa.xy[ii, 1, None]
    tx = c[:, None] * ax - s[:, None] * ay + fb.xy[jj, 0, None]
    ty = s[:, None] * ax + c[:, None] * ay + fb.xy[jj, 1, None]
    tth = fa.theta[None, :] + phi[:, None]
    d2 = (tx[:, :, None] - fb.xy[None, None, :, 0]) ** 2 + (ty[:, :, None] - fb.xy[None, None, :, 1]) ** 2
    close = (d2 < DTOL**2) & (np.abs(angdiff(tth[:, :, None], fb.theta[None, None, :])) < ATOL)
    w = np.where(close, np.maximum(sim[None], 0.0) * (1.0 - 0.5 * np.sqrt(d2) / DTOL), 0.0)
    per_alignment = np.minimum(w.max(2).sum(1), w.max(1).sum(1))
    best_score, best_tr = 0.0, (0.0, 0.0, 0.0)
    for m in np.argsort(-per_alignment)[:CONSOLIDATE]:
        weight = float(per_alignment[m])
        if weight <= 0.0:
            break
        na_ov = int(_inside(np.stack([tx[m], ty[m]], 1), fb.hull, HULL_PAD).sum())
        hx = fa.hull[:, 0] - fa.xy[ii[m], 0]
        hy = fa.hull[:, 1] - fa.xy[ii[m], 1]
        hull_t = np.stack([c[m] * hx - s[m] * hy + fb.xy[jj[m], 0],
                           s[m] * hx + c[m] * hy + fb.xy[jj[m], 1]], 1)
        nb_ov = int(_inside(fb.xy, hull_t, HULL_PAD).sum())
        # p_B = R(phi) p_A + t
        t_x = fb.xy[jj[m], 0] - (c[m] * fa.xy[ii[m], 0] - s[m] * fa.xy[ii[m], 1])
        t_y = fb.xy[jj[m], 1] - (s[m] * fa.xy[ii[m], 0] + c[m] * fa.xy[ii[m], 1])
        tr = (float(phi[m]), float(t_x), float(t_y))
        if REFINE:
            _, pairs = _pair_weight(fa, fb, sim, *tr)
            ref = _refine(fa, fb, pairs)
            if ref is not None:
                w2, _ = _pair_weight(fa, fb, sim, *ref)
                if w2 > weight:
                    weight, tr = w2, ref
        o = _orientation_agreement(fa, fb, *tr)
        score = weight**2 / (max(na_ov, KMIN) * max(nb_ov, KMIN)) * float(np.exp(ORIENT_GAIN * (o - ORIENT_REF)))
        if score > best_score:
            best_score, best_tr = score, tr
    return best_score, best_tr
