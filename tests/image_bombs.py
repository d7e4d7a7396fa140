"""Small files that claim huge images: valid PNGs whose pixel data compresses to almost nothing."""

from __future__ import annotations

import functools
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@functools.lru_cache(maxsize=4)
def bomb_png(width: int, height: int, *, ink_rows: int = 4) -> bytes:
    """A complete greyscale PNG: white with a few black rows (so it is not a blank signature)."""
    white = b"\x00" + b"\xff" * width
    black = b"\x00" + b"\x00" * width
    comp = zlib.compressobj(9)
    parts = []
    for y in range(height):
        parts.append(comp.compress(black if height // 2 <= y < height // 2 + ink_rows else white))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
