"""Fingerprint feature extraction: enhancement, NBIS MINDTCT minutiae, border and quality filtering."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ktpel.biometrics.errors import (
    BlankImage,
    ImageTooSmall,
    NativeLibraryMissing,
    NoRidgeStructure,
    TooFewMinutiae,
)
from ktpel.biometrics.fingerprint.enhance import Enhanced, enhance
from ktpel.biometrics.templates import FingerTemplate

MIN_SIDE = 96  # px at 500 ppi: about 5 mm
MIN_FOREGROUND_PX = 96 * 96
MIN_COHERENCE = 0.20
MIN_RIDGE_BAND = 0.45
MIN_MINUTIAE = 6
ORIENT_BLOCK = 12  # px per orientation-field block stored in templates
BORDER_PX = 6  # minutiae this close to the foreground edge are ridge cuts, not minutiae
_lock = threading.Lock()


@dataclass(frozen=True)
class RidgeMeasures:
    """What the quality gate looks at, for reports."""

    std: float
    foreground_px: int
    coherence: float
    ridge_band: float
    period: float


def ridge_band_ratio(gray: np.ndarray, mask: np.ndarray) -> float:
    """Share of spectral power (DC removed) at ridge periods of 5-15 px inside the foreground."""
    g = gray.astype(np.float32)
    g = (g - g[mask].mean()) * mask if mask.any() else g - g.mean()
    spec = np.abs(np.fft.rfft2(g)) ** 2
    h, w = g.shape
    r = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.rfftfreq(w)[None, :] ** 2)
    total = spec[r > 1.0 / 60].sum()
    band = spec[(r > 1.0 / 15) & (r < 1.0 / 5)].sum()
    return float(band / total) if total > 0 else 0.0


def measure(gray: np.ndarray) -> tuple[RidgeMeasures, Enhanced]:
    """Enhance the image and return the measures of ridge structure."""
    enh = enhance(gray)
    rb = ridge_band_ratio(gray, enh.mask) if enh.mask.any() else 0.0
    return RidgeMeasures(float(gray.std()), int(enh.mask.sum()), enh.coherence, rb, enh.period), enh


def check(meas: RidgeMeasures, gray: np.ndarray) -> None:
    """Raise the typed error that explains why this image cannot give a usable template."""
    if min(gray.shape) < MIN_SIDE:
        raise ImageTooSmall(f"{gray.shape[1]}x{gray.shape[0]}")
    if meas.std < 3.0 or meas.foreground_px == 0:
        raise BlankImage(f"std={meas.std:.1f}")
    if meas.foreground_px < MIN_FOREGROUND_PX:
        raise ImageTooSmall(f"foreground {meas.foreground_px}px")
    if meas.coherence < MIN_COHERENCE or meas.ridge_band < MIN_RIDGE_BAND:
        raise NoRidgeStructure(f"coherence={meas.coherence:.2f} ridge_band={meas.ridge_band:.2f}")


def _mindtct(image: np.ndarray) -> np.ndarray:
    try:
        from afis._native import loader
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise NativeLibraryMissing("afis not installed") from exc
    if not loader.available():
        raise NativeLibraryMissing(str(getattr(loader, "_LOAD_ERROR", "")))
    with _lock:
        arr, _meta = loader.mindtct_extract(image, ppi=500.0)
    return arr


def minutiae_from_enhanced(enh: Enhanced) -> np.ndarray:
    """MINDTCT on the enhanced image, minus border minutiae; columns x, y, angle, quality, kind."""
    raw = _mindtct(enh.image)
    if raw.size == 0:
        return np.zeros((0, 5))
    k = 2 * BORDER_PX + 1
    inner = cv2.erode(enh.mask.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    h, w = inner.shape
    xi = np.clip(raw[:, 0].astype(int), 0, w - 1)
    yi = np.clip(raw[:, 1].astype(int), 0, h - 1)
    raw = raw[inner[yi, xi]]
    # afis gives the angle counter-clockwise with y up; flip to image axes (y down).
    return np.stack([raw[:, 0], raw[:, 1], np.mod(-raw[:, 2], 2 * np.pi), raw[:, 4], raw[:, 3]], 1)


def orientation_grid(enh: Enhanced) -> np.ndarray:
    """Block orientation field (ORIENT_BLOCK px): uint8, 0 = background, 1-255 = angle over [0, π)."""
    h, w = enh.mask.shape
    b = ORIENT_BLOCK
    ys, xs = np.arange(b // 2, h, b), np.arange(b // 2, w, b)
    inner = cv2.erode(enh.mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    if enh.theta is None:
        return np.zeros((len(ys), len(xs)), np.uint8)
    th = enh.theta[np.ix_(ys, xs)] % np.pi
    q = 1 + np.minimum(np.floor(th / np.pi * 255), 254).astype(np.uint8)
    return np.where(inner[np.ix_(ys, xs)], q, 0).astype(np.uint8)


def quality_score(meas: RidgeMeasures, n_minutiae: int) -> float:
    """0-100 from coherence, ridge spectrum, foreground size and minutiae count."""
    c = np.clip((meas.coherence - MIN_COHERENCE) / 0.5, 0, 1)
    b = np.clip((meas.ridge_band - MIN_RIDGE_BAND) / 0.4, 0, 1)
    a = np.clip(meas.foreground_px / 60000.0, 0, 1)
    m = np.clip((n_minutiae - MIN_MINUTIAE) / 25.0, 0, 1)
    return float(round(100 * (0.3 * c + 0.2 * b + 0.2 * a + 0.3 * m), 1))


def extract(gray: np.ndarray, *, finger_position: int = 0) -> FingerTemplate:
    """Greyscale 500 ppi image → FingerTemplate, or a typed error explaining the failure."""
    meas, enh = measure(gray)
    check(meas, gray)
    m = minutiae_from_enhanced(enh)
    if len(m) < MIN_MINUTIAE:
        raise TooFewMinutiae(f"{len(m)} minutiae")
    h, w = gray.shape
    return FingerTemplate(m, w, h, 500, finger_position, quality_score(meas, len(m)),
                          orientation=orientation_grid(enh), orientation_block=ORIENT_BLOCK)
