"""The monthly report PDF for the head of office (laporan bulanan), charts drawn with reportlab graphics."""

from __future__ import annotations

import calendar
import datetime as dt
import io

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.orm import Session

from ktpel.office.reports.office import office_dashboard
from ktpel.reports.panels import Panel
from ktpel.reports.period import EARLIEST, Period

MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
             "Oktober", "November", "Desember"]


def resolve_month(raw: str | None, *, today: dt.date) -> tuple[dt.date, list[str]]:
    """First day of the month asked for (`2026-11`); the current month when missing, invalid or in the future."""
    notes: list[str] = []
    current = today.replace(day=1)
    if not raw:
        return current, notes
    try:
        year, month = (int(x) for x in raw.strip()[:7].split("-"))
        first = dt.date(year, month, 1)
    except (ValueError, TypeError):
        notes.append(f"Bulan '{raw[:20]}' tidak dikenali; memakai bulan ini.")
        return current, notes
    if first > current:
        notes.append("Bulan di masa depan; memakai bulan ini.")
        return current, notes
    if first < EARLIEST:
        notes.append("Bulan sebelum 2011; memakai Januari 2011.")
        return EARLIEST, notes
    return first, notes


def _table(panel: Panel, *, max_rows: int = 40) -> Table:
    head = [c.label_id for c in panel.columns]
    body = [[("" if r.get(c.key) is None else str(r.get(c.key))) for c in panel.columns] for r in panel.rows[:max_rows]]
    t = Table([head, *body] if body else [head, ["belum ada data"] + [""] * (len(head) - 1)], repeatRows=1)
    t.setStyle(TableStyle([
        ("FONTSIZE", (0, 0), (-1, -1), 7), ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return t


def _fill_axes(chart, panel: Panel, *, keys: list[tuple], width: float, height: float) -> None:  # noqa: ANN001
    """Place a chart, give it the panel's series and dated categories (MM-DD), small print labels."""
    chart.x, chart.y, chart.width, chart.height = 35, 30, width - 60, height - 55
    rows = panel.rows or [{}]
    chart.data = [[float(r.get(k) or 0) for r in rows] for k, _, _ in keys]
    chart.categoryAxis.categoryNames = [str(r.get(panel.chart.x, ""))[5:] for r in rows] if panel.chart else []
    chart.categoryAxis.labels.angle = 90
    chart.categoryAxis.labels.fontSize = 5
    chart.categoryAxis.labels.dy = -12
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0


def _line_chart(panel: Panel, *, keys: list[tuple[str, str, list[int] | None]], width: float = 170 * mm,
                height: float = 70 * mm) -> Drawing:
    """Lines told apart by dash pattern, not colour, so the chart survives a black-and-white copier."""
    d = Drawing(width, height)
    chart = HorizontalLineChart()
    _fill_axes(chart, panel, keys=keys, width=width, height=height)
    for i, (_, _, dash) in enumerate(keys):
        chart.lines[i].strokeColor = colors.black
        chart.lines[i].strokeWidth = 1.2
        if dash:
            chart.lines[i].strokeDashArray = dash
    d.add(chart)
    legend = Legend()
    legend.x, legend.y, legend.fontSize = 40, height - 8, 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [(colors.black, label) for _, label, _ in keys]
    d.add(legend)
    return d


def _bar_chart(panel: Panel, *, keys: list[tuple[str, str, colors.Color]], width: float = 170 * mm,
               height: float = 65 * mm) -> Drawing:
    """Bars in black, grey and white-with-outline: distinct without colour."""
    d = Drawing(width, height)
    chart = VerticalBarChart()
    _fill_axes(chart, panel, keys=keys, width=width, height=height)
    chart.barSpacing = 0.5
    for i, (_, _, fill) in enumerate(keys):
        chart.bars[i].fillColor = fill
        chart.bars[i].strokeColor = colors.black
        chart.bars[i].strokeWidth = 0.3
    d.add(chart)
    d.add(String(40, height - 8, "   ".join(f"{label}: {['hitam', 'abu-abu', 'putih'][i]}"
                                          for i, (_, label, _) in enumerate(keys)), fontSize=7))
    return d


def monthly_report_pdf(session: Session, *, office_code: str, office_name: str, month: dt.date,
                       today: dt.date, now: dt.datetime, notes: list[str] | None = None) -> bytes:
    """The month's figures, charts and tables as a PDF to send upward."""
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    period = Period(start=month, end=min(last, today))
    data = office_dashboard(session, office_code=office_code, period=period, today=today, now=now)
    p = data["panels"]
    daily = p["harian"]
    totals = {c.key: sum(int(r.get(c.key) or 0) for r in daily.rows) for c in daily.columns[1:]}
    styles = getSampleStyleSheet()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"Laporan bulanan {month:%Y-%m}", author=office_name)
    story: list = [
        Paragraph(f"Laporan Bulanan KTP-El — {MONTHS_ID[month.month - 1]} {month.year}", styles["Title"]),
        Paragraph(f"{office_name} (kode {office_code}). Periode {period.start.isoformat()} s.d. "
                  f"{period.end.isoformat()}. Dibuat {now:%Y-%m-%d %H:%M} UTC dari basis data kantor.",
                  styles["Normal"]),
    ]
    for n in notes or []:
        story.append(Paragraph(f"Catatan: {n}", styles["Italic"]))
    story += [Spacer(1, 4 * mm), Paragraph("Ringkasan bulan ini", styles["Heading2"])]
    summary = [["Perekaman", totals.get("recordings", 0)], ["PRR diterima", totals.get("prr", 0)],
               ["Kartu dicetak", totals.get("printed", 0)], ["Kartu diambil", totals.get("issued", 0)],
               ["Gagal (EFAC)", totals.get("failed", 0)], ["Data ganda (DUP)", totals.get("duplicate", 0)],
               ["Blanko masuk", totals.get("blanks_received", 0)],
               ["IKD diaktifkan", data["ikd"]["ikd_aktif"]],
               ["Blanko dihemat (IKD sebelum kartu dicetak)", data["ikd"]["blanko_dihemat"]],
               ["Suket diterbitkan", data["ikd"]["suket_terbit"]]]
    backlog_rows = p["backlog_blanko"].rows
    if backlog_rows:
        summary += [["Siap cetak belum dicetak (akhir periode)", backlog_rows[-1]["backlog"]],
                    ["Blanko tersedia (akhir periode)", backlog_rows[-1]["blanko"] if backlog_rows[-1]["blanko"] is not None else "belum tercatat"]]
    st = p["stok_blanko"].rows[0]
    summary.append(["Hari sampai blanko habis (laju saat ini)",
                    st["hari_sampai_habis"] if st["hari_sampai_habis"] is not None else "-"])
    t = Table([[a, str(b)] for a, b in summary], colWidths=[100 * mm, 40 * mm])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 9)]))
    story += [t, Spacer(1, 5 * mm), Paragraph("Siap cetak (PRR) vs blanko tersedia", styles["Heading2"]),
              _line_chart(p["backlog_blanko"], keys=[("backlog", "Siap cetak (garis penuh)", None),
                                                     ("blanko", "Blanko (garis putus)", [6, 3])]),
              Paragraph("Perekaman, cetak dan pengambilan per hari", styles["Heading2"]),
              _bar_chart(daily, keys=[("recordings", "Rekam", colors.black),
                                      ("printed", "Cetak", colors.HexColor("#888888")),
                                      ("issued", "Diambil", colors.white)]),
              Paragraph("Waktu layanan per minggu (hari)", styles["Heading2"]),
              _line_chart(p["waktu_layanan"], keys=[("total_p50", "Rekam→diambil p50 (penuh)", None),
                                                    ("total_p90", "Rekam→diambil p90 (putus)", [6, 3])],
                          height=55 * mm),
              _table(p["waktu_layanan"]),
              Paragraph("Gagal dan data ganda menurut alasan", styles["Heading2"]), _table(p["gagal_ganda"]),
              Paragraph("Gangguan koneksi ke pusat", styles["Heading2"]), _table(p["gangguan"]),
              Paragraph("Angka harian", styles["Heading2"]), _table(daily, max_rows=31)]
    doc.build(story)
    return buf.getvalue()
