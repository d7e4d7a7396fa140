"""The card's personalisation layer: every field the KTP-El shows, at CR80 size, SPECIMEN where required."""

import datetime as dt
import io
import re

from ktpel.office.printing.card import CARD_H_MM, CARD_W_MM, MM_TO_PT, layout, render_pdf, render_png
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


def test_card_qr_decodes_to_a_token_central_signed():
    """Anyone with central's public key verifies the card offline from its QR (read here with OpenCV)."""
    import cv2
    import numpy as np
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from PIL import Image

    from ktpel.sync.authorisation import issue, verify, verify_card_qr

    # several keys: the signature changes every module of the symbol. OpenCV's ArUco-based detector, as a
    # phone scanner would; its classic QRCodeDetector misses ~15 % of perfect, clean symbols of this size
    # whatever their quiet zone or mask (measured), so it says nothing about the card
    for seed in range(1, 6):
        key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        signed = verify(issue(signing_key=key, card=CARD), public_keys=[key.public_key()])
        assert len(signed["qr"]) < 320  # the compact QR token, not the ~660-byte authorisation
        png = render_png(layout(card=CARD, places=PLACES, photo=None, signature=None, token=signed["qr"],
                                issued_on=dt.date(2026, 11, 30), specimen=True), dpi=400)
        pixels = np.array(Image.open(io.BytesIO(png)).convert("L"))
        data, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(pixels)
        assert data == signed["qr"]  # read from a 400 dpi raster (the 600 dpi one the full token needed)
        shown = verify_card_qr(data, public_keys=[key.public_key()])
        assert (shown["nik"], shown["name"], shown["card_id"]) == (CARD["nik"], CARD["name"], CARD["card_id"])


def test_long_values_beside_the_qr_shrink_to_fit():
    from ktpel.office.printing.card import QR_X, QR_Y, Text, _width_mm

    long = dict(CARD, religion="KEPERCAYAAN TERHADAP TUHAN YME", occupation="KARYAWAN BADAN USAHA MILIK NEGARA")
    f = layout(card=long, places=PLACES, photo=None, signature=None, token="KTA1.p.k.s",
               issued_on=dt.date(2026, 11, 30), specimen=False)
    beside = [t for t in f.items if isinstance(t, Text) and t.x == 23.0 and t.y > QR_Y - 2.0]
    assert any(t.text.startswith("KEPERCAYAAN") for t in beside)
    for t in beside:
        assert 23.0 + _width_mm(t.text, t.size, bold=t.bold) <= QR_X - 0.9, t.text
