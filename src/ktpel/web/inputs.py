"""Checks on raw request bodies that must run before any parser: NUL characters in text fields.

NUL never belongs in a name, an address or a reason, PostgreSQL refuses it in text columns, and a
stored NUL truncates the value in C-based tools downstream. Files (parts with a filename) are binary and
may hold any byte.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r'boundary="?([^";,]+)"?', re.IGNORECASE)


def _is_json_text(content: bytes) -> bool:
    head = content.lstrip()[:1]
    return head in (b"{", b"[", b'"')


def multipart_text_has_nul(body: bytes, *, content_type: str) -> bool:
    """True when a text part (no filename) of a multipart body holds NUL, raw or as a JSON \\u0000 escape."""
    found = _BOUNDARY.search(content_type)
    if not found:
        return False
    delimiter = b"--" + found.group(1).encode("latin-1")
    for part in body.split(delimiter)[1:]:
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep or b"filename" in head.lower():
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        if b"\x00" in content or (_is_json_text(content) and b"\\u0000" in content.lower()):
            return True
    return False
