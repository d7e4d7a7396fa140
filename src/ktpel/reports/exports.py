"""CSV and XLSX of every dashboard table, and of the record list behind them (streamed, 100,000+ rows)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from typing import Iterable, Iterator

from fastapi.responses import FileResponse, StreamingResponse
from openpyxl import Workbook
from starlette.background import BackgroundTask
from sqlalchemy import select

from ktpel.reports.panels import Column, Panel
from ktpel.reports.period import WIB, Period, day_start_utc
from ktpel.store.db import Database
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.outcomes import EnrollmentOutcomeRow

BATCH = 2000


def _outcome_name(code: str | None) -> str:
    """`EFAR — Enroll Failure at Regional`: the code and the name officers use."""
    from ktpel.domain.outcomes import OUTCOMES

    return "" if not code else f"{code} — {OUTCOMES[code].name_en}" if code in OUTCOMES else code
RECORD_COLUMNS = [
    Column("id", "ID perekaman", "Enrollment id"), Column("nomor_tanda_terima", "No. tanda terima", "Receipt"),
    Column("status", "Status", "State"), Column("direkam", "Direkam (WIB)", "Recorded (WIB)"),
    Column("diubah", "Terakhir berubah (WIB)", "Last change (WIB)"), Column("petugas", "Petugas", "Operator"),
    Column("alasan_gagal", "Alasan gagal", "Failure reason"),
    Column("hasil_pusat", "Hasil pusat (kode)", "Central outcome (code)"),
]


def _cell(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def _headers(columns: list[Column], lang: str) -> list[str]:
    return [c.label_en if lang == "en" else c.label_id for c in columns]


def csv_stream(columns: list[Column], rows: Iterable[dict], *, lang: str = "id") -> Iterator[bytes]:
    """CSV in chunks (UTF-8 with BOM so spreadsheet programs open the Indonesian text correctly)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(_headers(columns, lang))
    n = 0
    for row in rows:
        writer.writerow([_cell(row.get(c.key)) for c in columns])
        n += 1
        if n % BATCH == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def xlsx_file(columns: list[Column], rows: Iterable[dict], *, title: str, lang: str = "id") -> str:
    """Write an XLSX with openpyxl's write-only mode (constant memory) to a temp file; returns its path."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "data")
    ws.append(_headers(columns, lang))
    for row in rows:
        ws.append([_cell(row.get(c.key)) for c in columns])
    handle = tempfile.NamedTemporaryFile(prefix="ktpel-export-", suffix=".xlsx", delete=False)
    handle.close()
    wb.save(handle.name)
    return handle.name


def panel_rows(panel: Panel) -> list[dict]:
    return panel.rows


def record_rows(db: Database, *, office_code: str, period: Period) -> Iterator[dict]:
    """Enrollments recorded in the period, read in batches so 100,000 rows never sit in memory at once."""
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    query = (
        select(EnrollmentRow.id, EnrollmentRow.receipt_number, EnrollmentRow.state, EnrollmentRow.created_at,
               EnrollmentRow.updated_at, EnrollmentRow.operator, EnrollmentRow.failure_reason, EnrollmentOutcomeRow.code)
        .outerjoin(EnrollmentOutcomeRow, EnrollmentOutcomeRow.enrollment_id == EnrollmentRow.id)
        .where(EnrollmentRow.office_code == office_code, EnrollmentRow.created_at >= lo, EnrollmentRow.created_at < hi)
        .order_by(EnrollmentRow.created_at, EnrollmentRow.id)
        .execution_options(yield_per=BATCH)
    )
    with db.unit_of_work() as s:
        for r in s.execute(query):
            yield {"id": r[0], "nomor_tanda_terima": r[1], "status": r[2], "direkam": r[3], "diubah": r[4],
                   "petugas": r[5], "alasan_gagal": r[6], "hasil_pusat": _outcome_name(r[7])}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(columns: list[Column], rows, *, name: str, fmt: str, lang: str):  # noqa: ANN001, ANN201
    """CSV streamed as it is written; XLSX written (constant memory) to a temp file that is removed after."""
    if fmt == "xlsx":
        path = xlsx_file(columns, rows, title=name, lang=lang)
        return FileResponse(path, media_type=XLSX, filename=f"{name}.xlsx",
                            background=BackgroundTask(os.unlink, path))
    return StreamingResponse(csv_stream(columns, rows, lang=lang), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
