"""A signature typed instead of drawn: the keyboard-only way to sign at the counter (accessibility).

The typed name is rendered server-side as the signature image, in an italic serif that ships with an installed
package (DejaVu Serif Italic from matplotlib, Bitstream Vera licence; else Vera Italic from reportlab; else
Pillow's own font). No handwriting font is installed, so none is pretended: the record marks the signature as
typed (`quality.signature.typed`), and the card shows it as the resident's signature like any other.
"""

from __future__ import annotations

import importlib.util
import io
import unicodedata
from functools import lru_cache
from pathlib import Path

from ktpel.office.enrollment.policy import RecordingError

MAX_CHARS = 60
SIZE = (480, 160)  # the signature pad's size


class TypedSignatureInvalid(RecordingError):
    code = "typed_signature_invalid"
    http_status = 422


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent.joinpath(*parts)
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def font_path() -> Path | None:
    """The italic font used, or None for Pillow's built-in one."""
    return (_package_file("matplotlib", "mpl-data", "fonts", "ttf", "DejaVuSerif-Italic.ttf")
            or _package_file("reportlab", "fonts", "VeraIt.ttf"))


def clean_name(text: str) -> str:
    """The typed name as it is drawn: printable characters, single spaces; refused when empty or too long."""
    kept = (" " if ch.isspace() else ch for ch in unicodedata.normalize("NFC", text))
    name = " ".join("".join(ch for ch in kept if unicodedata.category(ch)[0] in "LNPZ").split())
    if not name:
        raise TypedSignatureInvalid("Ketik nama untuk tanda tangan, atau pilih cara lain.",
                                    "Type the name for the signature, or choose another way.")
    if len(name) > MAX_CHARS:
        raise TypedSignatureInvalid(f"Tanda tangan ketik paling panjang {MAX_CHARS} huruf.",
                                    f"A typed signature is at most {MAX_CHARS} characters.")
    return name


def render_png(text: str) -> bytes:
    """The typed name drawn on a white pad, as large as fits, as PNG."""
    from PIL import Image, ImageDraw, ImageFont

    name = clean_name(text)
    img = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(img)
    path = font_path()
    for size in range(64, 11, -4):
        font = ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size=size)
        left, top, right, bottom = draw.textbbox((0, 0), name, font=font)
        if right - left <= SIZE[0] - 40:
            break
    x, y = (SIZE[0] - (right - left)) // 2 - left, (SIZE[1] - (bottom - top)) // 2 - top - 8
    draw.text((x, y), name, fill=0, font=font)
    draw.line([(30, SIZE[1] - 28), (SIZE[0] - 30, SIZE[1] - 28)], fill=90, width=2)  # the line signed on
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
