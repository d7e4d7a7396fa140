"""The card's personalisation layer: every field the KTP-El shows, at CR80 size, SPECIMEN where required."""

import datetime as dt
import io
import re

from ktpel.printing.card import CARD_H_MM, CARD_W_MM, MM_TO_PT, layout, render_pdf, render_png
from tests.integration.printing.conftest import pdf_content

CARD = {"card_id": "c1", "enrollment_id": "e1", "nik": "1801054507900001", "name": "Siti Rahayu",
        "birth_place": "Kalianda", "birth_date": "1990-07-05", "sex": "P", "blood_type": "AB",
        "street": "Jl. Lintas Sumatera No. 12", "rt": "003", "rw": "001", "village_code": "18.01.05.2001",
        "religion": "ISLAM", "marital_status": "KAWIN", "occupation": "PETANI/PEKEBUN", "citizenship": "WNI",
        "regency_code": "18.01", "issued_at": "2026-11-29"}
PLACES = {"province": "Lampung", "regency": "Kabupaten Lampung Selatan", "district": "Tanjung Bintang",
          "village": "Kaliasin"}


def face(specimen: bool):
    return layout(card=CARD, places=PLACES, photo=None, signature=None, token="KTA1.payload.kid.sig",
                  issued_on=dt.date(2026, 11, 30), specimen=specimen)


def test_pdf_is_card_sized_and_shows_every_field():
    pdf = render_pdf(face(specimen=False))
    box = re.search(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)
    assert abs(float(box.group(1)) - CARD_W_MM * MM_TO_PT) < 0.01
    assert abs(float(box.group(2)) - CARD_H_MM * MM_TO_PT) < 0.01
    text = pdf_content(pdf)
    for expected in ("PROVINSI LAMPUNG", "KABUPATEN LAMPUNG SELATAN", "NIK", "1801054507900001", "Nama",
                     "SITI RAHAYU", "Tempat/Tgl Lahir", "KALIANDA, 05-07-1990", "Jenis Kelamin", "PEREMPUAN",
                     "Gol. Darah", ": AB", "Alamat", "JL. LINTAS SUMATERA NO. 12", "RT/RW", "003/001",
                     "Kel/Desa", "KALIASIN", "Kecamatan", "TANJUNG BINTANG", "Agama", "ISLAM",
                     "Status Perkawinan", "KAWIN", "Pekerjaan", "PETANI/PEKEBUN", "Kewarganegaraan", "WNI",
                     "Berlaku Hingga", "SEUMUR HIDUP", "30-11-2026", "FOTO", "TANDA TANGAN"):
        assert f"({expected})" in text, expected
    assert "SPECIMEN" not in text
    assert " re\n" in text  # the QR modules


def test_specimen_mark_on_demo_prints_and_always_on_previews():
    assert "(SPECIMEN)" in pdf_content(render_pdf(face(specimen=True)))
    from PIL import Image

    plain = Image.open(io.BytesIO(render_png(face(specimen=False), dpi=100))).convert("RGB")
    # the preview carries the red mark even when the print setting has it off
    reds = sum(1 for r, g, b in plain.get_flattened_data() if r > 180 and g < 160 and b < 160)
    assert reds > 200
