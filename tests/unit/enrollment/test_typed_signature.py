"""The typed signature (keyboard-only signing): the name is drawn as an image with ink on it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ktpel.office.enrollment.typed_signature import TypedSignatureInvalid, clean_name, font_path, render_png


def test_typed_name_is_drawn_on_the_pad_in_the_shipped_italic_font():
    png = render_png("  Siti   Aminah ")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (480, 160)
    lo, hi = img.convert("L").getextrema()
    assert hi - lo >= 200  # real ink on white: the blank-pad check at capture would refuse less
    assert font_path() is not None and font_path().name in ("DejaVuSerif-Italic.ttf", "VeraIt.ttf")


def test_two_names_give_two_images():
    assert render_png("Siti Aminah") != render_png("Budi Santoso")


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b", "x" * 61])
def test_empty_or_too_long_is_refused_with_a_reason(text):
    with pytest.raises(TypedSignatureInvalid) as exc:
        clean_name(text)
    assert exc.value.message_id and exc.value.http_status == 422


def test_control_characters_are_dropped():
    assert clean_name("Siti\x00\tAminah\n") == "Siti Aminah"
