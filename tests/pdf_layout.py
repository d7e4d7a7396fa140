"""Where a reportlab PDF draws its text lines and images (uncompressed page streams), to test layout."""

from __future__ import annotations

import re


def boxes(pdf: bytes) -> tuple[list[tuple[str, float, float, float, float]], list[tuple[float, float, float, float]]]:
    """(text, x0, y0, x1, y1) per text line and (x0, y0, x1, y1) per image, in points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    texts, images = [], []
    fonts = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Helvetica-Oblique"}
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        body = m.group(1).decode("latin-1")
        if "BT" not in body:
            continue
        font, size = "Helvetica", 10.0
        for tok in re.finditer(r"/(F\d+) ([\d.]+) Tf|1 0 0 1 ([\d.]+) ([\d.]+) Tm \((.*?)\) Tj"
                               r"|([\d.]+) 0 0 ([\d.]+) ([\d.]+) ([\d.]+) cm\s+/\S+ Do", body):
            if tok.group(1):
                font, size = fonts.get(tok.group(1), "Helvetica"), float(tok.group(2))
            elif tok.group(5) is not None:
                x, y, text = float(tok.group(3)), float(tok.group(4)), tok.group(5)
                texts.append((text, x, y - 0.25 * size, x + stringWidth(text, font, size), y + 0.8 * size))
            else:
                w, h, x, y = (float(tok.group(i)) for i in range(6, 10))
                images.append((x, y, x + w, y + h))
    return texts, images


def overlaps(pdf: bytes) -> list[str]:
    """Text lines that run under an image or off the page."""
    texts, images = boxes(pdf)
    bad = []
    for text, x0, y0, x1, y1 in texts:
        for ix0, iy0, ix1, iy1 in images:
            if x0 < ix1 and x1 > ix0 and y0 < iy1 and y1 > iy0:
                bad.append(f"'{text}' under an image")
    return bad
