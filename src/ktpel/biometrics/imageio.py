"""The one image-decoding policy of ktpel: every untrusted image (face, fingers, signature, bulk import,
packets at central, images served to adjudicators) is decoded through here.

1. The header is read first (`probe`, no pixel data is decoded): more than MAX_PIXELS is refused before
   any memory is spent. A 500 KB PNG can claim 13000×13000 px (169 Mpx, ~500 MB decoded), and Pillow's
   own bomb limit (179 Mpx) lets it through.
2. A decode reserves its decoded size (pixels × bytes per pixel × working copies) from a process-wide
   budget of DECODE_BUDGET_BYTES, and one of MAX_CONCURRENT_DECODES slots; it waits (up to
   WAIT_SECONDS) for both, so four large uploads at once queue instead of taking the server's memory.
"""

from __future__ import annotations

import io
import os
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from ktpel.biometrics.errors import DecoderBusy, ImageTooLarge, ImageTooSmall, NotAnImage

MAX_PIXELS = 40_000_000  # a 12 Mpx phone photo fits three times; a decompression bomb does not
DECODE_BUDGET_BYTES = int(os.environ.get("KTPEL_DECODE_BUDGET_MB", "768")) * 1024 * 1024
MAX_CONCURRENT_DECODES = int(os.environ.get("KTPEL_MAX_CONCURRENT_DECODES", "4"))
WAIT_SECONDS = 30.0
WORKING_COPIES = 3  # the decoded image, a mode conversion, and the numpy array
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2, "RGB": 3, "YCbCr": 3,
                    "LAB": 3, "HSV": 3, "RGBA": 4, "RGBX": 4, "CMYK": 4, "I": 4, "F": 4}
_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning,
           Image.DecompressionBombError)


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int
    mode: str

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """What decoding and converting it costs in memory, for the budget."""
        return self.pixels * max(3, _BYTES_PER_PIXEL.get(self.mode, 4)) * WORKING_COPIES


class DecodeBudget:
    """Bytes and slots for concurrent decodes, shared by every thread of the process."""

    def __init__(self, *, budget_bytes: int, slots: int) -> None:
        self.budget_bytes = budget_bytes
        self.slots = slots
        self._used = 0
        self._active = 0
        self._cond = threading.Condition()
        self.peak_active = 0

    @contextmanager
    def reserve(self, nbytes: int, *, wait_s: float = WAIT_SECONDS) -> Iterator[None]:
        if nbytes > self.budget_bytes:
            raise ImageTooLarge(f"needs {nbytes // 2**20} MiB to decode, budget {self.budget_bytes // 2**20} MiB")
        deadline = time.monotonic() + wait_s
        with self._cond:
            while self._active >= self.slots or self._used + nbytes > self.budget_bytes:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(timeout=left):
                    if self._active >= self.slots or self._used + nbytes > self.budget_bytes:
                        raise DecoderBusy(f"{self._active} decodes, {self._used // 2**20} MiB in use")
            self._active += 1
            self._used += nbytes
            self.peak_active = max(self.peak_active, self._active)
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._used -= nbytes
                self._cond.notify_all()


BUDGET = DecodeBudget(budget_bytes=DECODE_BUDGET_BYTES, slots=MAX_CONCURRENT_DECODES)


def _as_bytes(data: bytes) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise NotAnImage("empty input")
    return bytes(data)


def probe(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageHeader:
    """Format, size and mode from the header alone; refuses more than `max_pixels` without decoding."""
    raw = _as_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as img:  # lazy: reads the header, not the pixels
                header = ImageHeader((img.format or "").lower(), img.width, img.height, img.mode)
    except _ERRORS as exc:
        if isinstance(exc, (Image.DecompressionBombWarning, Image.DecompressionBombError)):
            raise ImageTooLarge(type(exc).__name__) from exc
        raise NotAnImage(type(exc).__name__) from exc
    if header.width <= 0 or header.height <= 0:
        raise NotAnImage("no pixels")
    if header.pixels > max_pixels:
        raise ImageTooLarge(f"{header.width}x{header.height} px > {max_pixels // 1_000_000} Mpx")
    return header


@contextmanager
def open_bounded(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """A fully decoded image, inside its reservation of the decode budget (released on exit)."""
    header = probe(data, max_pixels=max_pixels)
    with BUDGET.reserve(header.decoded_bytes):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(bytes(data)))
                if (img.width, img.height) != (header.width, header.height):
                    raise NotAnImage("size changed while decoding")
                img.load()
        except _ERRORS as exc:
            raise NotAnImage(type(exc).__name__) from exc
        try:
            yield img
        finally:
            img.close()


def decode_gray(data: bytes, *, min_side: int) -> np.ndarray:
    """Bytes → uint8 greyscale array; 16-bit and float images are rescaled."""
    with open_bounded(data) as img:
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
    with open_bounded(data) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        if min(rgb.shape[:2]) < min_side:
            raise ImageTooSmall(f"{rgb.shape[1]}x{rgb.shape[0]} < {min_side}px")
        return np.ascontiguousarray(rgb[:, :, ::-1])


def display_png(data: bytes, *, max_side: int) -> bytes:
    """A stored image as a PNG at most `max_side` px on its longer side (what a browser is served)."""
    with open_bounded(data) as img:
        view = img.convert("L" if img.mode in ("L", "I;16", "I;16B", "I;16L", "1", "P", "I", "F") else "RGB")
        if max(view.size) > max_side:
            view.thumbnail((max_side, max_side))
        out = io.BytesIO()
        view.save(out, format="PNG")
        return out.getvalue()
