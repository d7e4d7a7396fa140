"""Biometric templates and their versioned binary format.

Layout (all integers big-endian)::

    offset size field
    0      4    magic  b"KTPB"
    4      1    format version (currently 1)
    5      1    modality: 1 = face, 2 = finger
    6      2    flags (reserved, 0)
    8      4    payload length L
    12     L    payload (modality specific, below)
    12+L   4    CRC-32 of bytes 0 .. 12+L-1

Face payload v1: model id (u8 length + ASCII), dimension D (u16), quality (f32), D × f32 embedding;
when flag bit 0 (FLAG_FACE_AUX) is set, a second model's embedding follows in the same layout:
model id (u8 length + ASCII), dimension (u16), that many f32. The comparison fuses both (engine).
Finger payload v1: width (u16), height (u16), resolution ppi (u16), finger position (u8, ISO 19794-2
codes, 0 = unknown), quality 0-100 (u8), minutiae count N (u16), then N × 8 bytes:
x (u16), y (u16), angle (u16, units of 2π/65536, image coordinates: 0 = +x, increasing towards +y),
quality (u8, 0-100), kind (u8: 0 ridge ending, 1 bifurcation, 2 other); then the block
orientation field: block size B (u8, pixels; 0 = no field), rows R (u16), cols C (u16), R × C u8
(row-major; block (r, c) is centred on pixel (c·B + B/2, r·B + B/2); 0 = background, v ≥ 1 = ridge
normal direction (v - 1) / 255 · π in image axes).
Fingerprint local descriptors (cylinders) are derived from the minutiae on load, never stored.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cached_property
from typing import Union

import numpy as np

from ktpel.biometrics.errors import CorruptTemplate

MAGIC = b"KTPB"
FORMAT_VERSION = 1
MODALITY_FACE = 1
MODALITY_FINGER = 2
_HEADER = struct.Struct(">4sBBHI")
_MAX_MINUTIAE = 255
FLAG_FACE_AUX = 0x0001


@dataclass(eq=False)
class FaceTemplate:
    """An L2-normalised face embedding produced by a named model."""

    embedding: np.ndarray
    model_id: str
    quality: float = 0.0
    aux: np.ndarray | None = None  # the second model's embedding (fused when both templates have it)
    aux_model_id: str = ""

    modality = "face"

    def __post_init__(self) -> None:
        self.embedding = _unit_or_corrupt(self.embedding)
        if self.aux is not None:
            if not self.aux_model_id:
                raise CorruptTemplate("second face embedding without a model id")
            self.aux = _unit_or_corrupt(self.aux)

    def to_bytes(self) -> bytes:
        """Serialise in the versioned KTPB format."""
        payload = _face_part(self.model_id, self.embedding, quality=self.quality)
        if self.aux is None:
            return _wrap(MODALITY_FACE, payload)
        return _wrap(MODALITY_FACE, payload + _face_part(self.aux_model_id, self.aux), flags=FLAG_FACE_AUX)


def _unit_or_corrupt(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    if v.size == 0 or not np.isfinite(v).all() or n <= 1e-9:
        raise CorruptTemplate("face embedding is empty or not finite")
    return v / n


def _face_part(model_id: str, vec: np.ndarray, *, quality: float | None = None) -> bytes:
    """model id, dimension, [quality,] embedding: the primary part carries the quality, the second not."""
    mid = model_id.encode("ascii")
    dims = struct.pack(">H", vec.size) if quality is None else struct.pack(">Hf", vec.size, float(quality))
    return struct.pack(">B", len(mid)) + mid + dims + vec.astype(">f4").tobytes()


@dataclass(eq=False)
class FingerTemplate:
    """Minutiae of one finger impression: columns x, y, angle (radians, image axes), quality 0-1, kind."""

    minutiae: np.ndarray
    width: int
    height: int
    ppi: int = 500
    finger_position: int = 0
    quality: float = 0.0
    orientation: np.ndarray | None = None  # (rows, cols) uint8, see module docstring
    orientation_block: int = 0

    modality = "finger"

    def __post_init__(self) -> None:
        m = np.asarray(self.minutiae, dtype=np.float64).reshape(-1, 5)
        if not np.isfinite(m).all():
            raise CorruptTemplate("minutiae are not finite")
        m = m.copy()
        m[:, 2] = np.mod(m[:, 2], 2 * np.pi)
        self.minutiae = m[:_MAX_MINUTIAE]
        if self.orientation is not None:
            o = np.asarray(self.orientation)
            if o.ndim != 2 or o.dtype != np.uint8 or not 0 < self.orientation_block < 256:
                raise CorruptTemplate("bad orientation field")
            self.orientation = o

    @cached_property
    def features(self):  # noqa: ANN201 - type lives in the matcher module
        """Local descriptors (cylinders) and hull, computed once per template object."""
        from ktpel.biometrics.fingerprint.mcc import prepare

        return prepare(self.minutiae, self.orientation, self.orientation_block)

    # A probe finger's index lookups, computed once per template object: whoever fans a probe out to
    # shards computes them before it does (gallery.prepare_probe), and every shard reads them.
    @cached_property
    def lsh_probe(self):  # noqa: ANN201 - type lives in the index module
        """Multi-probe keys into the MCC-LSH finger index (fingerprint/index.py probe_keys)."""
        from ktpel.biometrics.fingerprint.index import probe_keys

        return probe_keys(self.minutiae)

    @cached_property
    def triangle_probe(self):  # noqa: ANN201
        """Lookups into the minutia-triangle index (fingerprint/triangles.py probe_triangles)."""
        from ktpel.biometrics.fingerprint.triangles import probe_triangles

        return probe_triangles(self.minutiae)

    def to_bytes(self) -> bytes:
        """Serialise in the versioned KTPB format."""
        m = self.minutiae
        head = struct.pack(
            ">HHHBBH", self.width, self.height, self.ppi, self.finger_position,
            int(round(np.clip(self.quality, 0, 100))), len(m),
        )
        rows = np.zeros(len(m), dtype=[("x", ">u2"), ("y", ">u2"), ("a", ">u2"), ("q", "u1"), ("k", "u1")])
        rows["x"] = np.clip(np.round(m[:, 0]), 0, 65535)
        rows["y"] = np.clip(np.round(m[:, 1]), 0, 65535)
        rows["a"] = np.round(m[:, 2] / (2 * np.pi) * 65536).astype(np.int64) % 65536
        rows["q"] = np.clip(np.round(m[:, 3] * 100), 0, 100)
        rows["k"] = np.clip(m[:, 4], 0, 2)
        o = self.orientation
        if o is None:
            field_bytes = struct.pack(">BHH", 0, 0, 0)
        else:
            field_bytes = struct.pack(">BHH", self.orientation_block, *o.shape) + o.tobytes()
        return _wrap(MODALITY_FINGER, head + rows.tobytes() + field_bytes)


Template = Union[FaceTemplate, FingerTemplate]


def _wrap(modality: int, payload: bytes, *, flags: int = 0) -> bytes:
    body = _HEADER.pack(MAGIC, FORMAT_VERSION, modality, flags, len(payload)) + payload
    return body + struct.pack(">I", zlib.crc32(body))


def template_from_bytes(data: bytes) -> Template:
    """Parse KTPB bytes; any inconsistency raises CorruptTemplate."""
    try:
        return _parse(bytes(data))
    except CorruptTemplate:
        raise
    except (struct.error, ValueError, UnicodeDecodeError, TypeError) as exc:
        raise CorruptTemplate(type(exc).__name__) from exc


def _parse(data: bytes) -> Template:
    if len(data) < _HEADER.size + 4:
        raise CorruptTemplate("too short")
    magic, version, modality, flags, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptTemplate("bad magic")
    if version != FORMAT_VERSION:
        raise CorruptTemplate(f"unsupported version {version}")
    if len(data) != _HEADER.size + length + 4:
        raise CorruptTemplate("length mismatch")
    (crc,) = struct.unpack_from(">I", data, _HEADER.size + length)
    if crc != zlib.crc32(data[: _HEADER.size + length]):
        raise CorruptTemplate("checksum mismatch")
    payload = data[_HEADER.size : _HEADER.size + length]
    if modality == MODALITY_FACE:
        n = payload[0]
        model_id = payload[1 : 1 + n].decode("ascii")
        dim, quality = struct.unpack_from(">Hf", payload, 1 + n)
        end = 1 + n + 6 + 4 * dim
        vec = np.frombuffer(payload, dtype=">f4", count=dim, offset=1 + n + 6)
        if not flags & FLAG_FACE_AUX:
            if end != len(payload):
                raise CorruptTemplate("face payload size")
            return FaceTemplate(vec.astype(np.float32), model_id, float(quality))
        m = payload[end]
        aux_id = payload[end + 1 : end + 1 + m].decode("ascii")
        (adim,) = struct.unpack_from(">H", payload, end + 1 + m)
        if end + 1 + m + 2 + 4 * adim != len(payload):
            raise CorruptTemplate("face payload size")
        aux = np.frombuffer(payload, dtype=">f4", count=adim, offset=end + 1 + m + 2)
        return FaceTemplate(vec.astype(np.float32), model_id, float(quality), aux.astype(np.float32), aux_id)
    if modality == MODALITY_FINGER:
        w, h, ppi, pos, q, n = struct.unpack_from(">HHHBBH", payload)
        off = 10 + 8 * n
        if off + 5 > len(payload):
            raise CorruptTemplate("finger payload size")
        blk, r, c = struct.unpack_from(">BHH", payload, off)
        if off + 5 + r * c != len(payload) or (blk == 0 and r * c):
            raise CorruptTemplate("finger payload size")
        orient = np.frombuffer(payload, np.uint8, r * c, off + 5).reshape(r, c).copy() if blk else None
        rows = np.frombuffer(payload, offset=10, count=n,
                             dtype=[("x", ">u2"), ("y", ">u2"), ("a", ">u2"), ("q", "u1"), ("k", "u1")])
        m = np.stack([rows["x"], rows["y"], rows["a"] / 65536 * 2 * np.pi, rows["q"] / 100.0,
                      rows["k"]], axis=1) if n else np.zeros((0, 5))
        return FingerTemplate(m, w, h, ppi, pos, float(q), orient, blk)
    raise CorruptTemplate(f"unknown modality {modality}")
