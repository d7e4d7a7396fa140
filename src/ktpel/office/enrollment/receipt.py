"""The receipt (tanda terima perekaman) printed at the counter: an A5 PDF with a QR code."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import segno
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
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
    rows = [
        ("Nomor tanda terima", receipt_number),
        ("Nomor perekaman", enrollment_id),
        ("NIK", nik),
        ("Nama", name),
        ("Tanggal rekam", local.strftime("%d-%m-%Y %H:%M WIB")),
        ("Status", state_label),
    ]
    for label, value in rows:
        c.setFont("Helvetica", 9)
        c.drawString(14 * mm, y, label)
        c.setFont("Helvetica-Bold", 10 if label != "Nomor perekaman" else 8)
        c.drawString(50 * mm, y, f": {value}")
        y -= 6.5 * mm
    qr = ImageReader(io.BytesIO(_qr_png(qr_text(receipt_number=receipt_number, nik=nik,
                                                 enrollment_id=enrollment_id))))
    c.drawImage(qr, width - 42 * mm, height - 100 * mm, 30 * mm, 30 * mm)
    y -= 4 * mm
    c.setFont("Helvetica-Bold", 9)
    c.drawString(14 * mm, y, "Langkah selanjutnya")
    y -= 5.5 * mm
    c.setFont("Helvetica", 8)
    for line in NEXT_STEPS_ID:
        c.drawString(14 * mm, y, line)
        y -= 5 * mm
    c.setFont("Helvetica-Oblique", 7)
    c.drawString(14 * mm, y - 2 * mm, NEXT_STEPS_EN)
    c.setFont("Helvetica", 7)
    c.drawString(14 * mm, 12 * mm, "Petugas: ______________________      Paraf penduduk: ______________________")
    c.showPage()
    c.save()
    return buf.getvalue()
