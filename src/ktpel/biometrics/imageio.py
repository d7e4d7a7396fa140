"""Decode untrusted image bytes into greyscale or BGR arrays, with typed errors."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from ktpel.biometrics.errors import ImageTooSmall, NotAnImage

MAX_PIXELS = 40_000_000  # refuse decompression bombs


def _open(data: bytes) -> Image.Image:
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise NotAnImage("empty input")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)))
            if img.width * img.height > MAX_PIXELS:
                raise NotAnImage("image too large")
            img.load()
    except NotAnImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise NotAnImage(type(exc).__name__) from exc
    return img


def decode_gray(data: bytes, *, min_side: int) -> np.ndarray:
    """Bytes → uint8 greyscale array; 16-bit and float images are rescaled."""
    img = _open(data)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        gray = arr.astype(np.uint8)
    else:
        gray = np.asarray(img.convert("L"), dtype=np.uint8)
    if min(gray.shape) < min_side:
        raise ImageTooSmall(f"{gray.shape[1]}x{gray.shape[0]} < {min_side}px")
    return np.ascontiguousarray(gray)


def decode_bgr(data: bytes, *, min_side: int) -> np.ndarray:
    """Bytes → uint8 BGR array (greyscale images are replicated to three channels)."""
    img = _open(data)
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    if min(rgb.shape[:2]) < min_side:
        raise ImageTooSmall(f"{rgb.shape[1]}x{rgb.shape[0]} < {min_side}px")
    return np.ascontiguousarray(rgb[:, :, ::-1])
