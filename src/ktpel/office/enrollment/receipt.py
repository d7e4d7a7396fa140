"""The receipt (tanda terima perekaman) printed at the counter: an A5 PDF with a QR code."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import segno
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen import canvas

WIB = ZoneInfo("Asia/Jakarta")  # Lampung and Java keep Western Indonesian Time

NEXT_STEPS_ID = [
    "1. Data Anda dikirim ke Pusat Data Dukcapil untuk diperiksa (tidak perlu datang lagi).",
    "2. Cek status di halaman status dengan NIK dan nomor tanda terima ini.",
    "3. Bila siap cetak (PRR), Anda dihubungi lewat SMS/WhatsApp (bila memberi nomor).",
    "4. Datang membawa tanda terima ini; KTP-El dicetak dan diserahkan setelah verifikasi sidik jari.",
    "Tanda terima ini bukan pengganti KTP-El. Simpan baik-baik.",
]
NEXT_STEPS_EN = "Next: central checks the record; check status with NIK + receipt number; bring this receipt."


def _qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=2)
    return buf.getvalue()


def qr_text(*, receipt_number: str, nik: str, enrollment_id: str) -> str:
    """What the QR holds: enough for the status page, no name (a receipt may be lost)."""
    return f"KTPEL-RCPT:{receipt_number}:{nik}:{enrollment_id}"


def render_receipt(
    *, enrollment_id: str, receipt_number: str, nik: str, name: str, recorded_at: dt.datetime,
    office_name: str, state_label: str,
) -> bytes:
    """The receipt as PDF bytes."""
    buf = io.BytesIO()
    width, height = A5
    c = canvas.Canvas(buf, pagesize=A5, pageCompression=0)  # uncompressed: text stays greppable
    c.setTitle(f"Tanda terima perekaman {receipt_number}")
    c.setAuthor(office_name)
    y = height - 18 * mm
    c.setFont("Helvetica-Bold", 13)
    c.drawCentredString(width / 2, y, "TANDA TERIMA PEREKAMAN KTP-EL")
    y -= 5 * mm
    c.setFont("Helvetica", 8)
    c.drawCentredString(width / 2, y, "Enrollment receipt")
    y -= 6 * mm
    c.setFont("Helvetica-Bold", 9)
    c.drawCentredString(width / 2, y, office_name.upper())
    c.line(12 * mm, y - 3 * mm, width - 12 * mm, y - 3 * mm)
    y -= 12 * mm
    local = recorded_at.astimezone(WIB)
    # the enrollment's internal id stays in the QR (machines read it); people read the short receipt number
    rows = [
        ("Nomor tanda terima", receipt_number),
        ("NIK", nik),
        ("Nama", name),
        ("Tanggal rekam", local.strftime("%d-%m-%Y %H:%M WIB")),
        ("Status", state_label),
    ]
    qr_size, margin = 30 * mm, 12 * mm
    qr_x, qr_top = width - margin - qr_size, y + 4 * mm
    value_x, value_right = 50 * mm, qr_x - 3 * mm  # values wrap before the QR column: nothing runs under it
    for label, value in rows:
        c.setFont("Helvetica", 9)
        c.drawString(14 * mm, y, label)
        c.setFont("Helvetica-Bold", 10)
        for i, line in enumerate(simpleSplit(f": {value}", "Helvetica-Bold", 10, value_right - value_x)):
            c.drawString(value_x + (0 if i == 0 else 2 * mm), y, line)
            y -= 5 * mm
        y -= 1.5 * mm
    qr = ImageReader(io.BytesIO(_qr_png(qr_text(receipt_number=receipt_number, nik=nik,
                                                 enrollment_id=enrollment_id))))
    c.drawImage(qr, qr_x, qr_top - qr_size, qr_size, qr_size)
    # the next steps start below both the rows and the QR, and wrap to the page's width
    y = min(y, qr_top - qr_size) - 6 * mm
    c.setFont("Helvetica-Bold", 9)
    c.drawString(14 * mm, y, "Langkah selanjutnya")
    y -= 5.5 * mm
    c.setFont("Helvetica", 8)
    for step in NEXT_STEPS_ID:
        for line in simpleSplit(step, "Helvetica", 8, width - 14 * mm - margin):
            c.drawString(14 * mm, y, line)
            y -= 4.2 * mm
        y -= 0.8 * mm
    c.setFont("Helvetica-Oblique", 7)
    for line in simpleSplit(NEXT_STEPS_EN, "Helvetica-Oblique", 7, width - 14 * mm - margin):
        y -= 3.5 * mm
        c.drawString(14 * mm, y, line)
    c.setFont("Helvetica", 7)
    c.drawString(14 * mm, 12 * mm, "Petugas: ______________________      Paraf penduduk: ______________________")
    c.showPage()
    c.save()
    return buf.getvalue()
