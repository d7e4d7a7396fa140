"""Daily blank reconciliation (rekonsiliasi blanko harian) as CSV and PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.office.printing.ledger import DayBalance, day_balance
from ktpel.store.schema.printing import BlankMovementRow

ROWS = [
    ("opening", "Stok awal hari", "Opening stock"),
    ("received", "Diterima", "Received"),
    ("used", "Terpakai (kartu tercetak)", "Used (cards printed)"),
    ("spoiled", "Rusak", "Spoiled"),
    ("returned", "Dikembalikan ke pusat", "Returned to central"),
    ("closing", "Stok akhir hari", "Closing stock"),
]


def reconciliation(session: Session, *, day: dt.date) -> tuple[DayBalance, list[BlankMovementRow]]:
    """The day's balance and every movement of that day, in order."""
    moves = list(session.scalars(select(BlankMovementRow).where(BlankMovementRow.day == day)
                                 .order_by(BlankMovementRow.id)))
    return day_balance(session, day=day), moves


def reconciliation_csv(balance: DayBalance, moves: list[BlankMovementRow], *, office: str) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["kantor/office", office])
    w.writerow(["tanggal/date", balance.day.isoformat()])
    for key, label_id, label_en in ROWS:
        w.writerow([f"{label_id} / {label_en}", getattr(balance, key)])
    t = balance.totals
    w.writerow(["kumulatif diterima / received to date", t.received])
    w.writerow(["kumulatif terpakai+rusak+kembali+tersedia / used+spoiled+returned+available",
                t.used + t.spoiled + t.returned + t.available])
    w.writerow(["seimbang / balanced", "YA/YES" if balance.balanced else "TIDAK/NO"])
    w.writerow([])
    w.writerow(["serial", "dari/from", "ke/to", "kartu/card", "alasan/reason", "petugas/actor", "waktu/at"])
    for m in moves:
        w.writerow([m.serial, m.from_state or "-", m.to_state, m.card_id or "", m.reason or "", m.actor,
                    m.at.isoformat(timespec="seconds")])
    return out.getvalue()


def reconciliation_pdf(balance: DayBalance, moves: list[BlankMovementRow], *, office: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"Rekonsiliasi blanko {balance.day}")
    styles = getSampleStyleSheet()
    t = balance.totals
    story = [
        Paragraph(f"Rekonsiliasi Blanko KTP-El — {balance.day:%d-%m-%Y}", styles["Title"]),
        Paragraph(f"{office} · Daily blank reconciliation", styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    summary = [["", "Hari ini / today"]] + [[f"{a} / {b}", f"{getattr(balance, k):,}"] for k, a, b in ROWS]
    summary += [
        ["Kumulatif / to date: diterima (received)", f"{t.received:,}"],
        ["terpakai + rusak + kembali + tersedia", f"{t.used:,} + {t.spoiled:,} + {t.returned:,} + {t.available:,}"
                                                   f" = {t.used + t.spoiled + t.returned + t.available:,}"],
        ["Seimbang / balanced", "YA / YES" if balance.balanced else "TIDAK / NO — periksa! check!"],
    ]
    table = Table(summary, colWidths=[110 * mm, 60 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")), ("ALIGN", (1, 1), (1, -1), "RIGHT"),
        ("TEXTCOLOR", (1, -1), (1, -1), colors.darkgreen if balance.balanced else colors.red),
    ]))
    story += [table, Spacer(1, 5 * mm)]
    if balance.spoiled_by_reason:
        story.append(Paragraph("Rusak menurut alasan / spoiled by reason: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(balance.spoiled_by_reason.items())), styles["Normal"]))
        story.append(Spacer(1, 4 * mm))
    detail = [m for m in moves if m.from_state is not None][:400]
    if detail:
        rows = [["Serial", "Dari", "Ke", "Kartu", "Alasan", "Petugas", "Jam"]] + [
            [m.serial, m.from_state, m.to_state, (m.card_id or "")[:16], m.reason or "", m.actor[:16],
             m.at.strftime("%H:%M")] for m in detail]
        mt = Table(rows, repeatRows=1)
        mt.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 7), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb"))]))
        story.append(mt)
    story += [Spacer(1, 12 * mm), Paragraph("Petugas blanko: ____________________    "
                                            "Kepala Dinas: ____________________", styles["Normal"])]
    doc.build(story)
    return buf.getvalue()
