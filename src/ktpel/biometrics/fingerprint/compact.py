"""Compact in-memory form of one record's finger templates (the gallery keeps only this).

Per finger (big-endian): position u8, width u16, height u16, ppi u16, quality u8 (0-100),
minutiae count n u8, block size u8, rows u16, cols u16, compressed field length z u16;
then n × 6 bytes: x (12 bits) | y (12 bits) packed in 3 bytes, angle u16 (2π/65536, exactly as
KTPB), kind (2 bits) | minutia quality (6 bits, 0-63); then z bytes: the block orientation field
quantised to 64 levels (2.8° bins, centre kept: |error| ≤ 1.4°, cos 2Δθ ≥ 0.9988), delta-coded
along rows and zlib-compressed. Positions and angles are those of KTPB, so the matcher sees the
same minutiae; only the field is rounded. About 500 bytes for an FVC-sized finger
(KTPB: ~1,050). Cylinders are not stored: they are computed when a record is a candidate.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ktpel.biometrics.errors import CorruptTemplate
from ktpel.biometrics.templates import FingerTemplate

_HEAD = struct.Struct(">BHHHBBBHHH")
_LEVELS = 64


def _field_bytes(o: np.ndarray | None) -> bytes:
    if o is None or o.size == 0:
        return b""
    q = np.where(o > 0, 1 + (o.astype(np.int32) - 1) * (_LEVELS - 1) // 255, 0)
    d = np.diff(q, axis=1, prepend=0) % _LEVELS
    return zlib.compress(d.astype(np.uint8).tobytes(), 9)


def _level_values() -> np.ndarray:
    """The stored value of each of the _LEVELS levels: its bin's centre (level 0: background)."""
    q = np.arange(_LEVELS)
    bin_width = 255 / (_LEVELS - 1)
    return np.where(q > 0, 1 + np.minimum(254, np.floor((q - 1) * bin_width + bin_width / 2)), 0).astype(np.uint8)


_VALUE_OF_LEVEL = _level_values()


def _field_from(data: bytes, rows: int, cols: int) -> np.ndarray:
    d = np.frombuffer(zlib.decompress(data), np.uint8).reshape(rows, cols).astype(np.int32)
    return _VALUE_OF_LEVEL[np.cumsum(d, axis=1) % _LEVELS]


def pack_finger(t: FingerTemplate, position: int) -> bytes:
    """One finger in the compact form (minutiae beyond 255 are dropped, as KTPB does)."""
    m = t.minutiae[:255]
    x = np.clip(np.round(m[:, 0]), 0, 4095).astype(np.uint32)
    y = np.clip(np.round(m[:, 1]), 0, 4095).astype(np.uint32)
    xy = (x << 12) | y
    rows = np.zeros(len(m), dtype=[("b0", "u1"), ("b1", "u1"), ("b2", "u1"), ("a", ">u2"), ("kq", "u1")])
    rows["b0"], rows["b1"], rows["b2"] = xy >> 16, (xy >> 8) & 255, xy & 255
    rows["a"] = np.round(m[:, 2] / (2 * np.pi) * 65536).astype(np.int64) % 65536
    kind = np.clip(m[:, 4], 0, 2).astype(np.uint8)
    mq = np.clip(np.round(m[:, 3] * 63), 0, 63).astype(np.uint8)
    rows["kq"] = (kind << 6) | mq
    o = t.orientation if t.orientation_block else None
    fz = _field_bytes(o)
    r, c = o.shape if o is not None else (0, 0)
    head = _HEAD.pack(position & 255, t.width, t.height, t.ppi, int(round(np.clip(t.quality, 0, 100))),
                      len(m), t.orientation_block if o is not None else 0, r, c, len(fz))
    return head + rows.tobytes() + fz


def pack_fingers(fingers: dict[int, FingerTemplate]) -> bytes:
    """All of a record's fingers, keyed by slot (ISO position, or ≥ 100 for unknown ones)."""
    return b"".join(struct.pack(">B", slot) + pack_finger(t, t.finger_position) for slot, t in fingers.items())


def finger_offsets(blob: bytes) -> dict[int, int]:
    """Where each slot's finger starts in a pack_fingers blob (headers only: nothing is decoded)."""
    out: dict[int, int] = {}
    off = 0
    try:
        while off < len(blob):
            _, _, _, _, _, n, _, _, _, z = _HEAD.unpack_from(blob, off + 1)
            out[blob[off]] = off
            off += 1 + _HEAD.size + 6 * n + z
    except struct.error as exc:
        raise CorruptTemplate(f"compact fingers: {type(exc).__name__}") from exc
    if off != len(blob):
        raise CorruptTemplate("compact fingers: truncated")
    return out


def unpack_finger(blob: bytes, offset: int) -> FingerTemplate:
    """The finger starting at `offset` (from finger_offsets); it carries no cached features yet."""
    try:
        pos, w, h, ppi, q, n, blk, r, c, z = _HEAD.unpack_from(blob, offset + 1)
        off = offset + 1 + _HEAD.size
        rows = np.frombuffer(blob, offset=off, count=n,
                             dtype=[("b0", "u1"), ("b1", "u1"), ("b2", "u1"), ("a", ">u2"), ("kq", "u1")])
        off += 6 * n
        xy = (rows["b0"].astype(np.uint32) << 16) | (rows["b1"].astype(np.uint32) << 8) | rows["b2"]
        m = np.stack([(xy >> 12).astype(np.float64), (xy & 4095).astype(np.float64),
                      rows["a"] / 65536 * 2 * np.pi, (rows["kq"] & 63) / 63.0,
                      (rows["kq"] >> 6).astype(np.float64)], 1) if n else np.zeros((0, 5))
        field = _field_from(blob[off:off + z], r, c) if blk else None
        return FingerTemplate(m, w, h, ppi, pos, float(q), field, blk)
    except (struct.error, ValueError, zlib.error) as exc:
        raise CorruptTemplate(f"compact fingers: {type(exc).__name__}") from exc


def unpack_fingers(blob: bytes) -> dict[int, FingerTemplate]:
    """Inverse of pack_fingers; templates carry no cached features yet."""
    return {slot: unpack_finger(blob, off) for slot, off in finger_offsets(blob).items()}
