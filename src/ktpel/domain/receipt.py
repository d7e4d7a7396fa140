"""Receipt numbers: what a resident reads aloud and types, so short and forgiving.

Twelve Crockford base-32 characters in three groups (XXXX-XXXX-XXXX). Typed back in any case, with any
separators or none, and with the look-alikes Crockford folds (I and L read as 1, O as 0) it still finds
the same receipt.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_FOLD = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-_.·/]+")


def format_receipt(raw: str) -> str:
    """12 characters as XXXX-XXXX-XXXX."""
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def receipt_candidates(text: str) -> tuple[str, ...]:
    """The stored forms a typed receipt number may stand for: as typed (upper case, trimmed) and, when it
    is 12 characters once separators are dropped and look-alikes folded, the canonical grouped form."""
    typed = (text or "").strip().upper()
    if not typed:
        return ()
    out = [typed]
    compact = _SEPARATORS.sub("", typed).translate(_FOLD)
    if len(compact) == 12 and all(c in ALPHABET for c in compact):
        canonical = format_receipt(compact)
        if canonical not in out:
            out.append(canonical)
    # other stored forms (old demo numbers such as DEMO-PRR-0001) keep their dashes: try them with any separator
    dashed = _SEPARATORS.sub("-", typed).strip("-")
    if dashed not in out:
        out.append(dashed)
    return tuple(out)
