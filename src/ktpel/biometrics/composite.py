"""Real-photo composites for testing subject selection: ORL faces pasted onto one canvas.

A subject in the middle with a smaller face of another person towards a side (the next person in the
queue), or two faces of the same size side by side (no clear subject). Built in memory from the
reference images; nothing is written to the repository.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

CANVAS = (300, 400)  # height, width


@dataclass(frozen=True)
class Placement:
    """One face image pasted with its centre at (x, y), as fractions of the canvas, scaled by `scale`."""

    image: np.ndarray  # greyscale or BGR uint8
    x: float
    y: float
    scale: float


def compose(placements: list[Placement], *, canvas: tuple[int, int] = CANVAS, seed: int = 0) -> np.ndarray:
    """A BGR canvas (a soft vertical gradient with mild noise) with every placement pasted in order."""
    h, w = canvas
    rng = np.random.default_rng(seed)
    ramp = np.linspace(150, 200, h, dtype=np.float32)[:, None, None]
    out = np.clip(np.broadcast_to(ramp, (h, w, 3)) + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    for p in placements:
        img = p.image if p.image.ndim == 3 else cv2.cvtColor(p.image, cv2.COLOR_GRAY2BGR)
        ph, pw = int(round(img.shape[0] * p.scale)), int(round(img.shape[1] * p.scale))
        img = cv2.resize(img, (pw, ph), interpolation=cv2.INTER_CUBIC if p.scale > 1 else cv2.INTER_AREA)
        x0, y0 = int(round(p.x * w - pw / 2)), int(round(p.y * h - ph / 2))
        xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + pw, w), min(y0 + ph, h)
        out[ya:yb, xa:xb] = img[ya - y0 : yb - y0, xa - x0 : xb - x0]
    return out


def with_background_face(subject: np.ndarray, other: np.ndarray, *, relative_size: float = 0.5,
                         side: int = 1, seed: int = 0) -> np.ndarray:
    """The subject centred at twice ORL size, another person smaller towards one side and higher up."""
    s = 2.0
    return compose([Placement(subject, 0.5, 0.55, s),
                    Placement(other, 0.5 + side * 0.38, 0.3, s * relative_size)], seed=seed)


def side_by_side(left: np.ndarray, right: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Two faces of the same size, symmetric about the centre: neither is clearly the subject."""
    return compose([Placement(left, 0.27, 0.5, 2.0), Placement(right, 0.73, 0.5, 2.0)], seed=seed)


def png(bgr: np.ndarray) -> bytes:
    """PNG bytes of a BGR array (what an upload would carry)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])).save(buf, format="PNG")
    return buf.getvalue()
