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

Steps 1 and 3-4 run as numba kernels (mcc_kernels.py), compiled on first use (several seconds
once) and cached on disk; step 2 stays a float32 BLAS product. The kernels follow the NumPy
formulation operation by operation (dtypes, summation order), so results agree with a NumPy
evaluation of these formulas to the last bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from types import ModuleType

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
    o_grid: np.ndarray | None = None  # (rows, cols) angles, NaN = background

    # The field's foreground blocks as samples are read only for the first print of a match (the
    # probe's); a gallery candidate's never are, so they are derived on first use (~12 µs a finger).
    @cached_property
    def _samples(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self.o_grid is None:
            return None, None
        rr, cc = np.nonzero(~np.isnan(self.o_grid))
        b = self.block
        return np.stack([cc * b + b / 2, rr * b + b / 2], 1).astype(np.float64), self.o_grid[rr, cc]

    @property
    def o_xy(self) -> np.ndarray | None:
        """(k, 2) centres of the foreground blocks."""
        return self._samples[0]

    @property
    def o_th(self) -> np.ndarray | None:
        """(k,) their ridge-normal angles."""
        return self._samples[1]


def angdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed difference a-b wrapped to [-π, π)."""
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centre coordinates along one axis and the (row, column) index of each kept cell."""
    ds = 2 * RADIUS / NS
    g = (np.arange(NS) - (NS - 1) / 2) * ds
    ci, cj = np.meshgrid(np.arange(NS), np.arange(NS), indexing="ij")
    ci, cj = ci.ravel(), cj.ravel()
    keep = g[ci] ** 2 + g[cj] ** 2 <= RADIUS**2
    return g, ci[keep], cj[keep]


_G, _CELL_I, _CELL_J = _grid()
_GX, _GY = _G[_CELL_I], _G[_CELL_J]
_BINS = -np.pi + (np.arange(ND) + 0.5) * 2 * np.pi / ND
DIM = _GX.size * ND


@cache
def _kernels() -> ModuleType:
    """The compiled kernels, imported on first use: importing numba alone takes about 0.3 s."""
    from ktpel.biometrics.fingerprint import mcc_kernels

    return mcc_kernels


def cylinders(xy: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Unit-norm cylinder descriptor per minutia, shape (n, DIM)."""
    if len(xy) == 0:
        return np.zeros((0, DIM), np.float32)
    xy = np.ascontiguousarray(xy, dtype=np.float64)
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    return _kernels().cylinders(xy, theta, _G, _CELL_I, _CELL_J, _BINS, SIGMA_S, SIGMA_D)


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
    return Features(xy, theta, cylinders(xy, theta), _hull(xy), block, _ANGLE_OF[orientation])


# a field's stored level (1-255; 0 = background) as its angle, (level - 1) / 255 · π; one lookup a block
_ANGLE_OF = np.where(np.arange(256) > 0, (np.arange(256).astype(np.float64) - 1) / 255 * np.pi, np.nan)

# stand-ins for an absent orientation field (the kernel takes arrays, not None)
_NO_XY = np.zeros((0, 2))
_NO_TH = np.zeros(0)
_NO_GRID = np.zeros((0, 0))


def match(fa: Features, fb: Features) -> float:
    """Similarity of two prints, ≥ 0 (0 = nothing in common); symmetric up to ties."""
    return match_detail(fa, fb)[0]


def match_detail(fa: Features, fb: Features) -> tuple[float, tuple[float, float, float]]:
    """Score and the rigid transform (rotation, tx, ty) taking print A onto print B."""
    if len(fa.xy) < 3 or len(fb.xy) < 3:
        return 0.0, (0.0, 0.0, 0.0)
    sim = fa.cyl @ fb.cyl.T  # float32 BLAS product; the kernel takes these values as given
    has_field = fa.o_xy is not None and fb.o_grid is not None
    o_xy, o_th = (fa.o_xy, fa.o_th) if has_field else (_NO_XY, _NO_TH)
    grid = fb.o_grid if has_field else _NO_GRID
    params = (TOPK, DTOL, ATOL, KMIN, HULL_PAD, CONSOLIDATE, REFINE, ORIENT_GAIN, ORIENT_REF,
              ORIENT_MIN_BLOCKS)
    score, phi, tx, ty = _kernels().match(fa.xy, fa.theta, fa.hull, o_xy, o_th, fb.xy, fb.theta,
                                          fb.hull, grid, float(fb.block), has_field, sim, params)
    return score, (phi, tx, ty)
