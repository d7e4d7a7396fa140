"""Local-structure fingerprint matcher: MCC-style cylinders, alignment consolidation, overlap norm.

1. Each minutia gets a cylinder: a rotation-invariant grid (NS × NS cells within radius R, ND
   direction bins) of its neighbours, Gaussian in space and in relative direction, saturated by a
   sigmoid and L2-normalised (Cappelli, Ferrara & Maltoni 2010, simplified: no validity mask).
2. Local similarities of all pairs are one matrix product.
3. The TOPK most similar pairs each propose a rigid alignment; every alignment is scored by
   pairing the aligned minutiae within DTOL pixels and ATOL radians, weighted by local similarity.
4. The best alignment's weight is normalised by the number of minutiae of each print that fall
   inside the other's (aligned) convex hull: partial overlaps are not punished for missing minutiae.
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


@dataclass(frozen=True)
class Features:
    """Matcher-ready view of a template."""

    xy: np.ndarray  # (n, 2)
    theta: np.ndarray  # (n,)
    cyl: np.ndarray  # (n, d) float32, unit rows
    hull: np.ndarray  # (h, 2)


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


def prepare(minutiae: np.ndarray) -> Features:
    """Compute the matcher's features from (n, 5) minutiae."""
    xy = np.ascontiguousarray(minutiae[:, :2], dtype=np.float64)
    theta = np.ascontiguousarray(minutiae[:, 2], dtype=np.float64)
    return Features(xy, theta, cylinders(xy, theta), _hull(xy))


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


def match(fa: Features, fb: Features) -> float:
    """Similarity of two prints, ≥ 0 (0 = nothing in common); symmetric up to ties."""
    na, nb = len(fa.xy), len(fb.xy)
    if na < 3 or nb < 3:
        return 0.0
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
    best = int(np.argmax(per_alignment))
    weight = float(per_alignment[best])
    if weight <= 0.0:
        return 0.0
    na_ov = int(_inside(np.stack([tx[best], ty[best]], 1), fb.hull, HULL_PAD).sum())
    hx = fa.hull[:, 0] - fa.xy[ii[best], 0]
    hy = fa.hull[:, 1] - fa.xy[ii[best], 1]
    hull_t = np.stack([c[best] * hx - s[best] * hy + fb.xy[jj[best], 0],
                       s[best] * hx + c[best] * hy + fb.xy[jj[best], 1]], 1)
    nb_ov = int(_inside(fb.xy, hull_t, HULL_PAD).sum())
    return weight**2 / (max(na_ov, KMIN) * max(nb_ov, KMIN))
