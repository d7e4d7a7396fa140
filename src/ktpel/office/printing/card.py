"""The KTP-El personalisation layer: one layout, drawn to PDF (card printer) or PNG (preview).

The layout is a list of primitives in millimetres on the CR80 card (85.60 × 53.98 mm, origin top left),
built from the card dict central signed (what is printed is exactly what was authorised) plus region
names, photo and signature. Both renderers draw the same list, so the preview cannot drift from the print.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache

import segno

CARD_W_MM, CARD_H_MM = 85.60, 53.98
MM_TO_PT = 72 / 25.4
QR_MASK = 2
QR_X, QR_Y, QR_SIZE = 42.5, 35.8, 17.0  # mm: bottom edge 52.8 of 53.98


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline, from the top
    text: str
    size: float  # points
    bold: bool = False
    anchor: str = "left"  # left | centre


@dataclass(frozen=True)
class Picture:
    x: float
    y: float
    w: float
    h: float
    data: bytes | None  # JPEG/PNG bytes; None draws a labelled placeholder
    label: str


@dataclass(frozen=True)
class Qr:
    x: float
    y: float
    size: float
    payload: str


@dataclass(frozen=True)
class Specimen:
    text: str = "SPECIMEN"


@dataclass(frozen=True)
class CardFace:
    """Everything on the personalisation layer of one card."""

    items: tuple
    specimen: bool


SEX = {"L": "LAKI-LAKI", "P": "PEREMPUAN"}
MONTHS = ["", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]


def _date(iso: str) -> str:
    d = dt.date.fromisoformat(str(iso)[:10])
    return f"{d.day:02d}-{d.month:02d}-{d.year}"


def _width_mm(text: str, size: float, *, bold: bool) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, "Helvetica-Bold" if bold else "Helvetica", size) / MM_TO_PT


def _strip_kind(name: str) -> str:
    for prefix in ("Kabupaten ", "Kota "):
        if name.startswith(prefix):
            return ("KOTA " if prefix == "Kota " else "") + name[len(prefix):]
    return name


def layout(*, card: dict, places: dict[str, str], photo: bytes | None, signature: bytes | None,
           token: str, issued_on: dt.date, specimen: bool) -> CardFace:
    """Lay out one card; `places` has province, regency, district, village names."""
    regency = places.get("regency", "")
    kind = "KOTA" if regency.startswith("Kota ") else "KABUPATEN"
    rows = [
        ("NIK", card["nik"]),
        ("Nama", card["name"]),
        ("Tempat/Tgl Lahir", f"{card['birth_place']}, {_date(card['birth_date'])}"),
        ("Jenis Kelamin", f"{SEX.get(card['sex'], card['sex'])}"),
        ("Alamat", card["street"]),
        ("RT/RW", f"{card['rt']}/{card['rw']}"),
        ("Kel/Desa", places.get("village", "")),
        ("Kecamatan", places.get("district", "")),
        ("Agama", card["religion"]),
        ("Status Perkawinan", card["marital_status"]),
        ("Pekerjaan", card["occupation"]),
        ("Kewarganegaraan", card["citizenship"]),
        ("Berlaku Hingga", "SEUMUR HIDUP"),
    ]
    items: list = [
        Text(CARD_W_MM / 2, 4.2, f"PROVINSI {places.get('province', '').upper()}", 7, bold=True,
             anchor="centre"),
        Text(CARD_W_MM / 2, 7.4, f"{kind} {_strip_kind(regency).removeprefix('KOTA ').upper()}", 7,
             bold=True, anchor="centre"),
    ]
    y = 11.2
    for label, value in rows:
        size = 6.2 if label == "NIK" else 4.6
        text = str(value).upper()[:40]
        # values beside the QR shrink to fit before it; the rest may run to the photo
        room = (QR_X - 1.0 if y > QR_Y - 2.0 else 62.5) - 23.0
        size = min(size, size * room / max(0.1, _width_mm(text, size, bold=label == "NIK")))
        items.append(Text(3.0, y, label, 4.6 if label != "NIK" else 6.2, bold=label == "NIK"))
        items.append(Text(21.5, y, ":", 6.2 if label == "NIK" else 4.6, bold=label == "NIK"))
        items.append(Text(23.0, y, text, round(size, 2), bold=label == "NIK"))
        y += 3.25 if label == "NIK" else 2.95
        if label == "Jenis Kelamin":
            # blood type shares the sex line on a real card
            items.append(Text(44.0, y - 2.95, "Gol. Darah", 4.6))
            items.append(Text(53.0, y - 2.95, f": {card['blood_type']}", 4.6))
    items += [
        Picture(64.0, 9.5, 19.0, 24.0, photo, "FOTO"),
        Text(73.5, 37.0, _strip_kind(regency).upper()[:22], 4.2, anchor="centre"),
        Text(73.5, 39.6, _date(issued_on.isoformat()), 4.2, anchor="centre"),
        Picture(65.0, 40.8, 17.0, 7.5, signature, "TANDA TANGAN"),
        Qr(QR_X, QR_Y, QR_SIZE, token),
    ]
    if specimen:
        items.append(Specimen())
    return CardFace(items=tuple(items), specimen=specimen)


@lru_cache(maxsize=256)
def _qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    # a fixed mask: choosing the best of eight is ¾ of the QR cost (and most of a card's render time);
    # every mask gives a valid symbol. Level M (15 % damage) puts the ~280-byte KTQ1 token at version 12
    # (65 modules): ~0.26 mm a module in the 17 mm square, three dots of a 300 dpi card printer
    qr = segno.make_qr(payload, error="m", mask=QR_MASK)
    return tuple(tuple(bool(v) for v in row) for row in qr.matrix)


@lru_cache(maxsize=256)
def _qr_ops(payload: str) -> str:
    ops = []
    for r, row in enumerate(_qr_matrix(payload)):
        start = None
        for col, dark in enumerate(row + (False,)):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                ops.append(f"{start} {r} {col - start} 1 re")
                start = None
    ops.append("f")
    return "\n".join(ops)


# --- PDF (reportlab) -------------------------------------------------------------------------------

def render_pdf(face: CardFace, *, title: str = "KTP-El") -> bytes:
    """The personalisation layer as a one-page PDF at exactly card size."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    w, h = CARD_W_MM * MM_TO_PT, CARD_H_MM * MM_TO_PT
    c = canvas.Canvas(buf, pagesize=(w, h), pageCompression=1)
    c.setTitle(title)
    c.setCreator("ktpel")

    def pt(v: float) -> float:
        return v * MM_TO_PT

    for item in face.items:
        if isinstance(item, Text):
            c.setFont("Helvetica-Bold" if item.bold else "Helvetica", item.size)
            x, y = pt(item.x), h - pt(item.y)
            if item.anchor == "centre":
                c.drawCentredString(x, y, item.text)
            else:
                c.drawString(x, y, item.text)
        elif isinstance(item, Picture):
            x, y, pw, ph = pt(item.x), h - pt(item.y + item.h), pt(item.w), pt(item.h)
            if item.data:
                c.drawImage(ImageReader(io.BytesIO(item.data)), x, y, pw, ph, preserveAspectRatio=True,
                            anchor="c", mask="auto")
            else:
                c.setLineWidth(0.4)
                c.rect(x, y, pw, ph)
                c.setFont("Helvetica", 4)
                c.drawCentredString(x + pw / 2, y + ph / 2, item.label)
        elif isinstance(item, Qr):
            c.saveState()
            c.setFillColorRGB(0, 0, 0)
            # module units, y down: one integer rectangle per run of dark modules, written as raw
            # operators (reportlab's per-float formatting would dominate the render time)
            n = len(_qr_matrix(item.payload))
            c.translate(pt(item.x), h - pt(item.y))
            c.scale(pt(item.size) / n, -pt(item.size) / n)
            c.addLiteral(_qr_ops(item.payload))
            c.restoreState()
        elif isinstance(item, Specimen):
            c.saveState()
            c.setFillColorRGB(0.85, 0.1, 0.1, alpha=0.45)
            c.setFont("Helvetica-Bold", 30)
            c.translate(w / 2, h / 2)
            c.rotate(18)
            c.drawCentredString(0, -10, item.text)
            c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue()


# --- PNG preview (Pillow) --------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _font(size_px: int, bold: bool):  # noqa: ANN202
    from PIL import ImageFont

    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf" if bold else
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf" if bold else
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ):
        try:
            return ImageFont.truetype(path, size_px)
        except OSError:
            continue
    return ImageFont.load_default(size=size_px)


def render_png(face: CardFace, *, dpi: int = 300) -> bytes:
    """A preview image of the card (always with the SPECIMEN mark: a preview is never a card)."""
    from PIL import Image, ImageDraw

    px = dpi / 25.4
    w, h = round(CARD_W_MM * px), round(CARD_H_MM * px)
    img = Image.new("RGB", (w, h), (214, 232, 246))  # the pale blue of the preprinted blank
    draw = ImageDraw.Draw(img)
    for item in face.items:
        if isinstance(item, Text):
            font = _font(max(6, round(item.size * dpi / 72)), item.bold)
            anchor = "ms" if item.anchor == "centre" else "ls"
            draw.text((item.x * px, item.y * px), item.text, fill=(0, 0, 0), font=font, anchor=anchor)
        elif isinstance(item, Picture):
            box = (round(item.x * px), round(item.y * px), round((item.x + item.w) * px),
                   round((item.y + item.h) * px))
            if item.data:
                from ktpel.biometrics import imageio

                with imageio.open_bounded(item.data) as decoded:  # the one decoding policy (pixel cap, budget)
                    pic = decoded.convert("RGB")
                pic.thumbnail((box[2] - box[0], box[3] - box[1]))
                img.paste(pic, (box[0] + (box[2] - box[0] - pic.width) // 2,
                                box[1] + (box[3] - box[1] - pic.height) // 2))
            else:
                draw.rectangle(box, outline=(0, 0, 0), width=2)
                draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), item.label, fill=(0, 0, 0),
                          font=_font(round(4 * dpi / 72), False), anchor="mm")
        elif isinstance(item, Qr):
            matrix = _qr_matrix(item.payload)
            n = len(matrix)
            size = round(item.size * px)
            # whole pixels per module (a fractional scale smears modules and defeats scanners), centred
            scale = max(1, size // (n + 2))
            qr = Image.new("1", (n + 2, n + 2), 1)  # a one-module white margin inside the box
            qr.putdata([1] * (n + 2) + [v for row in matrix for v in (1, *(0 if d else 1 for d in row), 1)]
                       + [1] * (n + 2))
            side = scale * (n + 2)
            img.paste(qr.resize((side, side), Image.NEAREST).convert("RGB"),
                      (round(item.x * px) + (size - side) // 2, round(item.y * px) + (size - side) // 2))
    # the preview is always a specimen, whatever the print setting
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    od = ImageDraw.Draw(overlay)
    od.text((w / 2, h / 2), "SPECIMEN", fill=(220, 20, 20, 120), font=_font(round(30 * dpi / 72), True),
            anchor="mm")
    img = Image.alpha_composite(img.convert("RGBA"), overlay.rotate(18, center=(w / 2, h / 2))).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()
