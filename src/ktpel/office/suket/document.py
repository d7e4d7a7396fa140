"""The Suket as an A4 PDF: the resident's card fields, the status code in the corner, validity, serial, QR."""

from __future__ import annotations

import datetime as dt
import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ktpel.domain.suket import SuketState

SEX = {"L": "LAKI-LAKI", "P": "PEREMPUAN"}


def _qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    # border 4: the quiet zone ISO/IEC 18004 asks for; phone readers fail more often on less
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


def render_suket(*, serial: str, nik: str, name: str, birth_place: str, birth_date: dt.date, sex: str,
                 address: str, status_code: str, valid_from: dt.date, valid_until: dt.date, token: str,
                 office_name: str, issued_by: str, state: str = SuketState.ACTIVE.value) -> bytes:
    """The certificate as PDF bytes (uncompressed page content: tests and auditors can read the text)."""
    buf = io.BytesIO()
    width, height = A4
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    c.setTitle(f"Surat Keterangan {serial}")
    c.setAuthor(office_name)
    # status code in the top-right corner, boxed, as officers expect to read it at a glance
    c.setLineWidth(1.5)
    c.rect(width - 42 * mm, height - 30 * mm, 28 * mm, 14 * mm)
    c.setFont("Helvetica-Bold", 20)
    c.drawCentredString(width - 28 * mm, height - 25.5 * mm, status_code)
    c.setFont("Helvetica-Bold", 11)
    c.drawString(20 * mm, height - 20 * mm, "PEMERINTAH REPUBLIK INDONESIA")
    c.drawString(20 * mm, height - 26 * mm, office_name.upper())
    c.line(20 * mm, height - 32 * mm, width - 14 * mm, height - 32 * mm)
    y = height - 46 * mm
    c.setFont("Helvetica-Bold", 15)
    c.drawCentredString(width / 2, y, "SURAT KETERANGAN PENGGANTI KTP-EL")
    c.setFont("Helvetica", 9)
    c.drawCentredString(width / 2, y - 5.5 * mm, "Temporary certificate in place of the KTP-El (Suket)")
    c.setFont("Helvetica", 10)
    c.drawCentredString(width / 2, y - 12 * mm, f"Nomor / serial: {serial}")
    y -= 26 * mm
    c.setFont("Helvetica", 10)
    c.drawString(20 * mm, y, "Yang bertanda tangan di bawah ini menerangkan bahwa penduduk berikut telah melakukan")
    c.drawString(20 * mm, y - 5 * mm, "perekaman KTP-El dan KTP-El-nya belum dapat dicetak:")
    y -= 16 * mm
    rows = [
        ("NIK", nik), ("Nama", name), ("Tempat/Tgl Lahir", f"{birth_place}, {birth_date:%d-%m-%Y}"),
        ("Jenis Kelamin", SEX.get(sex, sex)), ("Alamat", address),
        ("Status data", status_code), ("Berlaku sampai / valid until", f"{valid_until:%d-%m-%Y}"),
    ]
    for label, value in rows:
        c.setFont("Helvetica", 10)
        c.drawString(24 * mm, y, label)
        c.setFont("Helvetica-Bold", 10.5)
        lines = _wrap(str(value), 70)
        for i, line in enumerate(lines):
            c.drawString(78 * mm, y - i * 5 * mm, (": " if i == 0 else "  ") + line)
        y -= (7 + 5 * (len(lines) - 1)) * mm
    y -= 4 * mm
    c.setFont("Helvetica", 9.5)
    for line in (
        "Surat keterangan ini berlaku sebagai pengganti KTP-El untuk keperluan administrasi kependudukan,",
        f"sejak {valid_from:%d-%m-%Y} sampai {valid_until:%d-%m-%Y}, dan berakhir ketika KTP-El dicetak.",
        "Keaslian dapat diperiksa dengan memindai kode QR di halaman /verifikasi (tanpa jaringan).",
        "Valid in place of the KTP-El until the date above or until the card is printed; scan the QR to verify.",
    ):
        c.drawString(20 * mm, y, line)
        y -= 5 * mm
    qr = ImageReader(io.BytesIO(_qr_png(token)))
    c.drawImage(qr, 20 * mm, 30 * mm, 60 * mm, 60 * mm)
    c.setFont("Helvetica", 8)
    c.drawString(20 * mm, 26 * mm, "Ditandatangani secara elektronik oleh kantor (Ed25519)")
    c.setFont("Helvetica", 10)
    c.drawString(120 * mm, 80 * mm, f"Diterbitkan oleh petugas: {issued_by}")
    c.drawString(120 * mm, 74 * mm, f"Tanggal: {valid_from:%d-%m-%Y}")
    if state != SuketState.ACTIVE.value:
        c.saveState()
        c.setFont("Helvetica-Bold", 60)
        c.setFillGray(0.6)
        c.translate(width / 2, height / 2)
        c.rotate(35)
        c.drawCentredString(0, 0, {SuketState.REVOKED.value: "DICABUT", SuketState.ENDED.value: "SELESAI"}.get(state, state))
        c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return lines + [line] if line else lines or [""]
