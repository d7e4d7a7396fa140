"""Template-level synthetic fingers: minutiae sets drawn along real orientation fields.

Growing ridge images for millions of fingers is too slow, so the national-scale benchmark works on
templates. How one synthetic finger is made (all steps vectorised over a batch of fingers):

1. Field: one of the bank's real block orientation fields (taken from FVC templates: ridge-normal
   angle per 12 px block, foreground mask), made the finger's own by a non-rigid warp (per-axis
   scale U(1 − WARP_SCALE, 1 + WARP_SCALE), shear U(±WARP_SHEAR), and a smooth elastic displacement
   of up to WARP_ELASTIC px: cores and deltas move relative to each other), then mirrored left-right
   with probability ½ (a finger of the other hand), rotated by U(−8°, 8°) and scaled by U(0.9, 1.1)
   about its centre. Without the warp, fingers drawn on the same bank field are siblings: their
   impostor scores reach z ≥ 5 in 1.3 % of pairs (measured), which at a gallery of N puts N/160
   siblings in front of every probe finger and dominates the 1:N false positives. Rotation and
   scale alone do not separate them (the matcher is invariant to both).
2. Minutiae (the finger's own, so every identity is distinct): SEED_SHARE (70 %) of the candidate
   points scatter (N(0, 15 px)) around the minutiae of the real print the field came from (real
   minutiae gather where ridges curve and end: the print's density map), the rest are uniform;
   only interior blocks take them (extractors drop minutiae at the print's edge); the count follows
   the density measured on the bank's real templates (minutiae per foreground block ×
   DENSITY_BOOST for what each impression loses, times a log-normal factor, σ 0.25), and no two
   lie closer than MIN_SPACING px. Direction: along the ridge (local ridge normal + 90°, N(0, 4°)
   off it), pointing the way the nearest real minutia of the base print points (3 % flipped):
   nearby real minutiae mostly point the same way (FVC: 71 % of pairs within 40 px), and without
   that coherence synthetic impostors score far below real ones (z ≥ 1: 1.5 % instead of ~8 %).
   Kind ending or bifurcation with the real proportion (59 / 41).
3. Impression (`impress`): what a sensor sees of the master finger. A rigid move (rotation
   N(0, 8°), translation N(0, 15 px)), a smooth non-linear skin distortion growing with the distance
   from the contact centre (up to ~5 px), a capture window (the sensor frame shifted by N(0, 25 px):
   minutiae and field outside it are lost, so impressions overlap partially), position noise
   N(0, 2 px), angle noise N(0, 5°), each minutia missed with a per-impression probability
   (exponential, mean 0.18: most captures are good, a few are poor, as in FVC) and spurious ones
   added (Poisson, 10 % of the count) along the field. The impression's orientation field is the
   master's moved the same way. An enrolment and a later capture are two impressions of one master.

Check (`bench/finger_index.py --synthetic-check`): impostor score rates at z ≥ 1/2/3 for
synthetic-vs-synthetic and synthetic-vs-real pairs (ideal 10 % / 1 % / 0.1 %), and the genuine
score distribution of synthetic mates against real FVC mates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ktpel.biometrics.templates import FingerTemplate

BLOCK = 12
MIN_SPACING = 7.0
DENSITY_SIGMA = 0.25
ANGLE_SIGMA = np.radians(4.0)
BIFURCATION_SHARE = 0.41
MASTER_ROTATION = np.radians(8.0)
MASTER_SCALE = 0.1
IMPRESSION_ROTATION = np.radians(8.0)
IMPRESSION_SHIFT = 15.0
WINDOW_SHIFT = 25.0
DISTORTION = 5.0
POSITION_NOISE = 2.0
IMPRESSION_ANGLE_NOISE = np.radians(5.0)
MISS_RATE = 0.18
MISS_SHAPE = 1.0  # gamma shape of the per-impression miss rate
SPURIOUS_RATE = 0.1
MAX_MINUTIAE = 96
# the bank's density is per real foreground block; a master finger loses some minutiae to each impression
DENSITY_BOOST = 1.15
SIGN_NOISE = 0.03
WARP_SCALE = 0.08
WARP_SHEAR = 0.04
WARP_ELASTIC = 10.0  # px, the largest displacement of the per-finger elastic warp
MIRROR_SHARE = 0.5
SEED_SHARE = 0.7
SEED_SIGMA = 15.0
CANDIDATES = 192  # uniform draws per finger, before the foreground and spacing tests


@dataclass(frozen=True)
class FieldBank:
    """Real block orientation fields, padded to one shape: angle (F, R, C) radians, NaN = background."""

    angle: np.ndarray
    interior: np.ndarray  # (F, R, C) bool: foreground blocks whose 8 neighbours are foreground too
    size: np.ndarray  # (F, 2) image width, height in px
    seeds: np.ndarray  # (F, S, 3) the real template's minutiae x, y, angle (NaN padded)
    density: float  # minutiae per foreground block, mean over the real templates
    density_sd: float

    @classmethod
    def from_templates(cls, templates: list[FingerTemplate]) -> "FieldBank":
        ts = [t for t in templates if t.orientation is not None and t.orientation_block == BLOCK]
        if not ts:
            raise ValueError("no template with a 12 px orientation field")
        rows = max(t.orientation.shape[0] for t in ts)
        cols = max(t.orientation.shape[1] for t in ts)
        angle = np.full((len(ts), rows, cols), np.nan)
        for k, t in enumerate(ts):
            o = t.orientation
            angle[k, : o.shape[0], : o.shape[1]] = np.where(o > 0, (o.astype(np.float64) - 1) / 255 * np.pi, np.nan)
        dens = np.array([len(t.minutiae) / max(1, int((t.orientation > 0).sum())) for t in ts])
        size = np.array([[t.width, t.height] for t in ts], np.float64)
        fg = np.pad(np.isfinite(angle), ((0, 0), (1, 1), (1, 1)))
        interior = np.ones_like(angle, bool)
        for dr in (0, 1, 2):
            for dc in (0, 1, 2):
                interior &= fg[:, dr:dr + rows, dc:dc + cols]
        s_max = max(len(t.minutiae) for t in ts)
        seeds = np.full((len(ts), s_max, 3), np.nan)
        for k, t in enumerate(ts):
            seeds[k, : len(t.minutiae)] = t.minutiae[:, :3]
        return cls(angle, interior, size, seeds, float(dens.mean()), float(dens.std()))

    def __len__(self) -> int:
        return len(self.angle)


@dataclass
class Masters:
    """A batch of synthetic fingers (the finger itself, before any impression)."""

    field: np.ndarray  # (B,) bank index
    mirror: np.ndarray  # (B,) bool
    rot: np.ndarray  # (B,) radians
    scale: np.ndarray  # (B,)
    xy: np.ndarray  # (B, M, 2) in the field's own (base image) frame
    theta: np.ndarray  # (B, M) radians, base frame
    kind: np.ndarray  # (B, M) 0 ending, 1 bifurcation
    valid: np.ndarray  # (B, M) bool
    wmat: np.ndarray  # (B, 2, 2) linear part of the finger's warp (its own frame -> the base field's)
    wk: np.ndarray  # (B, 2, 2) elastic wave numbers
    wph: np.ndarray  # (B, 2) elastic phases

    def __len__(self) -> int:
        return len(self.field)


def _to_base(bank: FieldBank, ms: Masters, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The finger's own frame -> its bank field's frame (x, y of shape (B, K))."""
    c = bank.size[ms.field] / 2
    cx, cy = c[:, :1], c[:, 1:]
    dx, dy = x - cx, y - cy
    ux, uy = dx / np.maximum(cx, 1), dy / np.maximum(cy, 1)
    ex = np.sin(np.pi * ux * ms.wk[:, None, 0, 0] + ms.wph[:, None, 0]) * np.cos(np.pi * uy * ms.wk[:, None, 1, 0])
    ey = np.sin(np.pi * ux * ms.wk[:, None, 0, 1] + ms.wph[:, None, 1]) * np.cos(np.pi * uy * ms.wk[:, None, 1, 1])
    m = ms.wmat
    return (cx + m[:, None, 0, 0] * dx + m[:, None, 0, 1] * dy + WARP_ELASTIC * ex,
            cy + m[:, None, 1, 0] * dx + m[:, None, 1, 1] * dy + WARP_ELASTIC * ey)


def _own_field(bank: FieldBank, ms: Masters, x: np.ndarray, y: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge-normal angle of the finger's own (warped) field at its points, and the base points."""
    bx, by = _to_base(bank, ms, x, y)
    normal = _field_at(bank, ms.field, bx, by)
    # a ridge direction d in the base frame is J^-1 d in the finger's frame (J: the warp's Jacobian)
    ax, ay = _to_base(bank, ms, x + 1.0, y)
    cx, cy = _to_base(bank, ms, x, y + 1.0)
    j00, j10, j01, j11 = ax - bx, ay - by, cx - bx, cy - by
    rx, ry = np.cos(normal + np.pi / 2), np.sin(normal + np.pi / 2)
    wx, wy = j11 * rx - j01 * ry, -j10 * rx + j00 * ry  # adj(J)·d (det > 0: same direction as J^-1 d)
    return np.arctan2(wy, wx) - np.pi / 2, bx, by


def _warps(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = rng.uniform(1 - WARP_SCALE, 1 + WARP_SCALE, (n, 2))
    shear = rng.uniform(-WARP_SHEAR, WARP_SHEAR, n)
    mat = np.zeros((n, 2, 2))
    mat[:, 0, 0], mat[:, 1, 1] = scale[:, 0], scale[:, 1]
    mat[:, 0, 1] = shear
    return mat, rng.normal(0, 1, (n, 2, 2)), rng.uniform(0, 2 * np.pi, (n, 2))


def _field_at(bank: FieldBank, field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ridge-normal angle of bank fields at base-frame points (NaN outside the foreground)."""
    r = np.floor(y / BLOCK).astype(np.int64)
    c = np.floor(x / BLOCK).astype(np.int64)
    _, rows, cols = bank.angle.shape
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    out = np.full(x.shape, np.nan)
    f = np.broadcast_to(field.reshape(field.shape + (1,) * (x.ndim - 1)), x.shape)
    out[inside] = bank.angle[f[inside], r[inside], c[inside]]
    return out


def make_masters(bank: FieldBank, rng: np.random.Generator, n: int, *, chunk: int = 512) -> Masters:
    """n new fingers: a real field each (moved), and minutiae of their own along it."""
    parts = [_make_masters(bank, rng, min(chunk, n - k)) for k in range(0, n, chunk)]
    if len(parts) == 1:
        return parts[0]
    return Masters(*(np.concatenate([getattr(p, f) for p in parts]) for f in Masters.__dataclass_fields__))


def _make_masters(bank: FieldBank, rng: np.random.Generator, n: int) -> Masters:
    field = rng.integers(0, len(bank), n)
    wmat, wk, wph = _warps(rng, n)
    # the finger's own frame: its warp applied to the bank field (lookups go through _to_base)
    shape = Masters(field, np.zeros(n, bool), np.zeros(n), np.ones(n), np.zeros((n, 0, 2)), np.zeros((n, 0)),
                    np.zeros((n, 0), np.int64), np.zeros((n, 0), bool), wmat, wk, wph)
    w, h = bank.size[field, 0], bank.size[field, 1]
    fg_blocks = np.isfinite(bank.angle).sum(axis=(1, 2))[field] * DENSITY_BOOST
    want = bank.density * fg_blocks * np.exp(rng.normal(0, DENSITY_SIGMA, n) - DENSITY_SIGMA**2 / 2)
    count = np.minimum(rng.poisson(want), MAX_MINUTIAE)
    m = CANDIDATES  # kept when in the foreground
    x = (rng.random((n, m), np.float32) * w[:, None]).astype(np.float64)
    y = (rng.random((n, m), np.float32) * h[:, None]).astype(np.float64)
    if SEED_SHARE > 0:  # most of the candidates scatter around the real print's minutiae (its density map)
        s_ok = np.isfinite(bank.seeds[field, :, 0])
        pick = (rng.random((n, m)) * s_ok.sum(1, keepdims=True)).astype(np.int64)
        sx = np.take_along_axis(bank.seeds[field, :, 0], pick, 1)
        sy = np.take_along_axis(bank.seeds[field, :, 1], pick, 1)
        # the seed in the finger's own frame: invert the warp by a few fixed-point steps
        inv = np.linalg.inv(wmat)
        px, py = sx.copy(), sy.copy()
        for _ in range(4):
            bx, by = _to_base(bank, shape, px, py)
            ex, ey = np.nan_to_num(sx - bx), np.nan_to_num(sy - by)
            px, py = px + inv[:, None, 0, 0] * ex + inv[:, None, 0, 1] * ey, py + inv[:, None, 1, 0] * ex + inv[:, None, 1, 1] * ey
        sx, sy = px + rng.normal(0, SEED_SIGMA, (n, m)), py + rng.normal(0, SEED_SIGMA, (n, m))
        use = rng.random((n, m)) < SEED_SHARE
        x, y = np.where(use & np.isfinite(sx), sx, x), np.where(use & np.isfinite(sy), sy, y)
    normal, bx, by = _own_field(bank, shape, x, y)
    # minutiae keep off the print's edge (extractors drop those): only interior blocks take them
    r = np.clip((np.nan_to_num(by, nan=-1) // BLOCK).astype(np.int64), 0, bank.angle.shape[1] - 1)
    c = np.clip((np.nan_to_num(bx, nan=-1) // BLOCK).astype(np.int64), 0, bank.angle.shape[2] - 1)
    ok = bank.interior[field[:, None], r, c] & (bx >= 0) & (by >= 0) & (x >= 0) & (y >= 0) & \
        (x < w[:, None]) & (y < h[:, None]) & np.isfinite(normal)
    # keep the foreground candidates (in draw order), as many as this chunk's fingers can use
    k = int(min(m, max(8, 1.5 * count.max())))
    first = np.argsort(~ok, axis=1, kind="stable")[:, :k]
    take = lambda a: np.take_along_axis(a, first, axis=1)  # noqa: E731
    x, y, bx, by, normal, ok = take(x), take(y), take(bx), take(by), take(normal), take(ok)
    # hard-core thinning: drop a candidate closer than MIN_SPACING to an earlier foreground one
    xf, yf = x.astype(np.float32), y.astype(np.float32)
    d2 = (xf[:, :, None] - xf[:, None, :]) ** 2 + (yf[:, :, None] - yf[:, None, :]) ** 2
    earlier = np.tril(np.ones((k, k), bool), -1)[None]
    ok &= ~((d2 < MIN_SPACING**2) & earlier & ok[:, None, :]).any(axis=2)
    ok &= np.cumsum(ok, axis=1) <= count[:, None]
    pad = MAX_MINUTIAE - k
    if pad > 0:
        x, y, bx, by, normal = (np.pad(a, ((0, 0), (0, pad))) for a in (x, y, bx, by, normal))
        ok = np.pad(ok, ((0, 0), (0, pad)))
    order = np.argsort(~ok, axis=1, kind="stable")[:, :MAX_MINUTIAE]  # kept ones first
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    x, y, bx, by, normal, valid = take(x), take(y), take(bx), take(by), take(normal), take(ok)
    # which way along the ridge: as the nearest real minutia of the base print points (nearby
    # minutiae mostly point the same way in real prints); decided in the base frame, where both lie
    base_normal = _field_at(bank, field, bx, by)
    d2s = (bx[:, :, None] - bank.seeds[field, None, :, 0]) ** 2 + (by[:, :, None] - bank.seeds[field, None, :, 1]) ** 2
    near = np.argmin(np.where(np.isfinite(d2s), d2s, np.inf), axis=2)
    real_th = np.take_along_axis(bank.seeds[field, :, 2], near, 1)
    flip = (np.cos(real_th - (base_normal + np.pi / 2)) < 0) ^ (rng.random((n, MAX_MINUTIAE)) < SIGN_NOISE)
    theta = normal + np.pi / 2 + np.pi * flip + rng.normal(0, ANGLE_SIGMA, (n, MAX_MINUTIAE))
    kind = (rng.random((n, MAX_MINUTIAE)) < BIFURCATION_SHARE).astype(np.int64)
    return Masters(field, rng.random(n) < MIRROR_SHARE, rng.uniform(-MASTER_ROTATION, MASTER_ROTATION, n),
                   rng.uniform(1 - MASTER_SCALE, 1 + MASTER_SCALE, n), np.stack([x, y], -1),
                   np.nan_to_num(theta), kind, valid, wmat, wk, wph)


def _similarity(bank: FieldBank, ms: Masters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per finger: base-frame centre, and the 2×2 matrix of mirror·rotation·scale about it."""
    centre = bank.size[ms.field] / 2
    c, s = np.cos(ms.rot), np.sin(ms.rot)
    mat = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2) * ms.scale[:, None, None]
    mirror = np.where(ms.mirror, -1.0, 1.0)
    mat[:, :, 0] *= mirror[:, None]  # mirror x first, then rotate and scale
    return centre, mat, mirror


def impress(bank: FieldBank, ms: Masters, rng: np.random.Generator, *, chunk: int = 1024
            ) -> list[FingerTemplate]:
    """One impression of every master finger, as templates (each with its orientation field)."""
    out: list[FingerTemplate] = []
    for k in range(0, len(ms), chunk):
        sl = slice(k, k + chunk)
        out += _impress(bank, Masters(*(getattr(ms, f)[sl] for f in Masters.__dataclass_fields__)), rng)
    return out


def _apply(mat: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """mat (B, 2, 2) applied to points (B, K, 2)."""
    x, y = pts[..., 0], pts[..., 1]
    return np.stack([mat[:, None, 0, 0] * x + mat[:, None, 0, 1] * y,
                     mat[:, None, 1, 0] * x + mat[:, None, 1, 1] * y], -1)


def _impress(bank: FieldBank, ms: Masters, rng: np.random.Generator) -> list[FingerTemplate]:
    n, m = ms.xy.shape[:2]
    centre, mat, _ = _similarity(bank, ms)
    rot = rng.normal(0, IMPRESSION_ROTATION, n)
    shift = rng.normal(0, IMPRESSION_SHIFT, (n, 2))
    c, s = np.cos(rot), np.sin(rot)
    rmat = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    full = rmat @ mat  # base frame -> impression frame (about the centre), then + centre + shift
    # minutiae
    rel = ms.xy - centre[:, None, :]
    p = _apply(full, rel) + centre[:, None, :] + shift[:, None, :]
    # skin distortion: smooth, zero at the contact centre, growing with distance from it
    k = rng.normal(0, 1, (n, 2, 2))
    ph = rng.uniform(0, 2 * np.pi, (n, 2))
    u = (p - centre[:, None, :] - shift[:, None, :]) / np.maximum(centre[:, None, :], 1)
    r2 = np.clip((u**2).sum(-1, keepdims=True), 0, 1.5)
    wave = np.sin(np.pi * u[..., :1] * k[:, None, 0, :] + ph[:, None, :]) * \
        np.cos(np.pi * u[..., 1:] * k[:, None, 1, :])
    p = p + DISTORTION / 1.5 * r2 * wave
    p = p + rng.normal(0, POSITION_NOISE, p.shape)
    base_theta = np.where(ms.mirror[:, None], np.pi - ms.theta, ms.theta)
    th = base_theta + (ms.rot + rot)[:, None] + rng.normal(0, IMPRESSION_ANGLE_NOISE, (n, m))
    # capture window: the sensor frame (the base image size) shifted
    win = rng.normal(0, WINDOW_SHIFT, (n, 2))
    size = bank.size[ms.field]
    inwin = ((p[..., 0] >= win[:, :1]) & (p[..., 0] < win[:, :1] + size[:, :1]) &
             (p[..., 1] >= win[:, 1:]) & (p[..., 1] < win[:, 1:] + size[:, 1:]))
    # capture quality varies: each impression has its own miss rate (mean MISS_RATE, a long bad tail)
    miss = MISS_RATE * rng.gamma(MISS_SHAPE, 1 / MISS_SHAPE, (n, 1))
    keep = ms.valid & inwin & (rng.random((n, m)) >= np.minimum(miss, 0.8))
    p = p - win[:, None, :]  # into sensor coordinates
    # orientation field of the impression: each sensor block looks up the base field
    _, rows, cols = bank.angle.shape
    gy, gx = np.mgrid[0:rows, 0:cols]
    q = np.stack([gx * BLOCK + BLOCK / 2, gy * BLOCK + BLOCK / 2], -1).reshape(-1, 2).astype(np.float64)
    inv = np.linalg.inv(full)
    qb = _apply(inv, q[None] + win[:, None, :] - centre[:, None, :] - shift[:, None, :]) + centre[:, None, :]
    normal, _, _ = _own_field(bank, ms, qb[..., 0], qb[..., 1])
    inside_sensor = (q[None, :, 0] < size[:, :1]) & (q[None, :, 1] < size[:, 1:])
    normal = np.where(ms.mirror[:, None], np.pi - normal, normal) + (ms.rot + rot)[:, None]
    normal = np.where(inside_sensor, normal, np.nan).reshape(n, rows, cols)
    grid = np.where(np.isfinite(normal), 1 + np.minimum(254, np.floor(np.mod(np.nan_to_num(normal), np.pi)
                                                                          / np.pi * 255)), 0).astype(np.uint8)
    # spurious minutiae: along the impression's field, anywhere in its foreground
    n_sp = rng.poisson(SPURIOUS_RATE * keep.sum(1))
    sx = rng.uniform(0, 1, (n, 24)) * size[:, :1]
    sy = rng.uniform(0, 1, (n, 24)) * size[:, 1:]
    sr, sc = np.minimum((sy // BLOCK).astype(int), rows - 1), np.minimum((sx // BLOCK).astype(int), cols - 1)
    sv = np.take_along_axis(grid.reshape(n, -1), sr * cols + sc, axis=1)
    s_ok = (sv > 0) & (np.cumsum(sv > 0, axis=1) <= n_sp[:, None])
    s_th = (sv - 1) / 255 * np.pi + np.pi / 2 + np.pi * (rng.random((n, 24)) < 0.5)
    s_kind = (rng.random((n, 24)) < BIFURCATION_SHARE).astype(np.float64)
    out = []
    for b in range(n):
        w, h = int(size[b, 0]), int(size[b, 1])
        r_used, c_used = int(np.ceil(h / BLOCK)), int(np.ceil(w / BLOCK))
        kb, sb = keep[b], s_ok[b]
        xy = np.concatenate([p[b, kb], np.stack([sx[b, sb], sy[b, sb]], -1)])
        ang = np.concatenate([th[b, kb], s_th[b, sb]])
        kinds = np.concatenate([ms.kind[b, kb].astype(np.float64), s_kind[b, sb]])
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        mins = np.column_stack([xy[inside], ang[inside], np.full(inside.sum(), 0.5), kinds[inside]])
        out.append(FingerTemplate(mins, w, h, 500, 0, 60.0, np.ascontiguousarray(grid[b, :r_used, :c_used]), BLOCK))
    return out


def with_position(t: FingerTemplate, position: int) -> FingerTemplate:
    """The same template at an ISO finger position."""
    return FingerTemplate(t.minutiae, t.width, t.height, t.ppi, position, t.quality, t.orientation,
                          t.orientation_block)
