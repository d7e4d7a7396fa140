"""ISO/IEC 19794-2:2005 finger minutiae record export/import (one finger view per record).

Record header (24 bytes): "FMR\\0", version " 20\\0", total record length (u32), capture equipment
(u16, 0), image width (u16), height (u16), x/y resolution in pixels per centimetre (u16 each),
number of finger views (u8), reserved (u8). Finger view header (4 bytes): finger position, view
number (high nibble) + impression type (low nibble, 0 = live-scan plain), finger quality 0-100,
minutiae count. Each minutia (6 bytes): type (2 high bits: 01 ending, 10 bifurcation, 00 other) +
x (14 bits), reserved (2 bits) + y (14 bits), angle (u8, units of 360/256 degrees, counter-clockwise
from the horizontal, y axis pointing up as a viewer sees it), quality (u8 0-100). Extended data
block length (u16, 0). Angles lose precision (1.4°) in the round trip; positions are integral.
"""

from __future__ import annotations

import struct

import numpy as np

from ktpel.biometrics.errors import CorruptTemplate
from ktpel.biometrics.templates import FingerTemplate

_HEAD = struct.Struct(">4s4sIHHHHHBB")
_VIEW = struct.Struct(">BBBB")


def to_iso19794_2(t: FingerTemplate) -> bytes:
    """Export one finger template as an ISO/IEC 19794-2:2005 record."""
    m = t.minutiae[:255]
    res = int(round(t.ppi / 2.54))
    body = bytearray()
    for x, y, a, q, k in m:
        typ = {0: 1, 1: 2}.get(int(k), 0)
        ang = int(round(((-a) % (2 * np.pi)) / (2 * np.pi) * 256)) % 256
        body += struct.pack(">HHBB", (typ << 14) | (int(round(x)) & 0x3FFF), int(round(y)) & 0x3FFF, ang,
                            int(np.clip(round(q * 100), 0, 100)))
    total = _HEAD.size + _VIEW.size + len(body) + 2
    head = _HEAD.pack(b"FMR\x00", b" 20\x00", total, 0, t.width, t.height, res, res, 1, 0)
    view = _VIEW.pack(t.finger_position & 0xFF, 0, int(np.clip(round(t.quality), 0, 100)), len(m))
    return head + view + bytes(body) + b"\x00\x00"


def from_iso19794_2(data: bytes) -> FingerTemplate:
    """Import the first finger view of an ISO/IEC 19794-2:2005 record."""
    try:
        magic, ver, total, _eq, w, h, rx, _ry, views, _r = _HEAD.unpack_from(data)
        if magic != b"FMR\x00" or ver != b" 20\x00":
            raise CorruptTemplate("not an ISO 19794-2:2005 record")
        if total != len(data) or views < 1:
            raise CorruptTemplate("record length or view count mismatch")
        pos, _vi, quality, n = _VIEW.unpack_from(data, _HEAD.size)
        off = _HEAD.size + _VIEW.size
        rows = []
        for k in range(n):
            xw, yw, ang, q = struct.unpack_from(">HHBB", data, off + 6 * k)
            typ = xw >> 14
            rows.append([xw & 0x3FFF, yw & 0x3FFF, (-(ang / 256.0) * 2 * np.pi) % (2 * np.pi), q / 100.0,
                         {1: 0, 2: 1}.get(typ, 2)])
    except struct.error as exc:
        raise CorruptTemplate("truncated ISO 19794-2 record") from exc
    ppi = int(round(rx * 2.54)) if rx else 500
    return FingerTemplate(np.array(rows).reshape(-1, 5), w, h, ppi, pos, float(quality))
