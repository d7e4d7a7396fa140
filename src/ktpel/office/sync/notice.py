"""The counter notice (pengumuman loket) as a one-page A4 PDF in Bahasa Indonesia."""

from __future__ import annotations

import datetime as dt
import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ktpel.office.sync.outage import OutageState, _fmt


def _wrap(c: canvas.Canvas, text: str, *, x: float, y: float, width: float, font: str, size: int) -> float:
    words, line = text.split(), ""
    for word in words:
        trial = (line + " " + word).strip()
        if c.stringWidth(trial, font, size) > width and line:
            c.drawString(x, y, line)
            y -= size * 1.35
            line = word
        else:
            line = trial
    if line:
        c.drawString(x, y, line)
        y -= size * 1.35
    return y


def counter_notice_pdf(*, office_name: str, state: OutageState, now: dt.datetime) -> bytes:
    """What the counter puts up during an outage or announced maintenance: recording continues, cards wait."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle("Pengumuman layanan KTP-el")
    c.setAuthor(office_name)
    w, h = A4
    x, width = 25 * mm, w - 50 * mm
    c.setFont("Helvetica-Bold", 14)
    c.drawString(x, h - 30 * mm, office_name.upper())
    c.setFont("Helvetica-Bold", 26)
    c.drawString(x, h - 50 * mm, "PENGUMUMAN")
    c.setFont("Helvetica", 14)
    y = h - 65 * mm
    ann = state.announcement
    if not state.reachable:
        lead = (f"Sejak {_fmt(state.since)} sambungan ke Pusat Data Kependudukan sedang terganggu.")
    elif ann is not None:
        lead = f"Pusat Data Kependudukan menjadwalkan pemeliharaan sistem mulai {_fmt(ann.starts_at)}."
    else:
        lead = "Layanan KTP-el berjalan normal."
    y = _wrap(c, lead, x=x, y=y, width=width, font="Helvetica", size=14) - 4 * mm
    lines = [
        "Perekaman KTP-el TETAP DILAYANI seperti biasa. Data Anda tersimpan aman di kantor ini dan akan "
        "dikirim otomatis ke pusat begitu sambungan pulih.",
        "Kartu yang izin cetaknya sudah diterima tetap dapat dicetak. Status perekaman baru akan diperbarui "
        "setelah sambungan pulih; Anda akan dihubungi melalui SMS/WhatsApp bila KTP-el siap diambil.",
    ]
    if ann is not None and ann.ends_at is not None:
        lines.append(f"Perkiraan layanan pusat pulih: {_fmt(ann.ends_at)}.")
        if ann.message_id:
            lines.append(f"Keterangan dari pusat: {ann.message_id}")
    else:
        lines.append("Perkiraan waktu pulih belum diumumkan oleh pusat.")
    for line in lines:
        y = _wrap(c, line, x=x, y=y, width=width, font="Helvetica", size=13) - 3 * mm
    c.setFont("Helvetica", 11)
    y -= 6 * mm
    c.drawString(x, y, f"Data menunggu kirim: {state.queued} paket.")
    c.drawString(x, y - 6 * mm, "Mohon maaf atas ketidaknyamanan ini. Terima kasih atas kesabaran Anda.")
    c.setFont("Helvetica-Oblique", 9)
    c.drawString(x, 20 * mm, f"Dicetak {_fmt(now)} — {office_name}")
    c.showPage()
    c.save()
    return buf.getvalue()
