"""Office dashboard pages (/dasbor), its JSON, exports and the monthly PDF."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from ktpel.domain.events import utcnow
from ktpel.reports import exports, service
from ktpel.office.reports.monthly import monthly_report_pdf, resolve_month
from ktpel.reports.panels import Column
from ktpel.reports.period import local_today, resolve_period
from ktpel.security.access import Role, requires
from ktpel.web.i18n import lang_of
from ktpel.web.templating import render

router = APIRouter()
heads = Depends(requires(Role.SUPERVISOR, Role.HEAD))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _office(request: Request) -> tuple:
    settings = request.app.state.settings
    return request.app.state.db, settings.office_regency


@router.get("/dasbor", include_in_schema=False, dependencies=[heads])
def office_page(request: Request, dari: str | None = None, sampai: str | None = None):  # noqa: ANN201
    """The head of office's dashboard."""
    db, code = _office(request)
    period, data = service.view_office_dashboard(db, office_code=code, dari=dari, sampai=sampai)
    return render(request, "reports/office.html", {
        "period": period, "panels": data["panels"], "data": service.dashboard_json(period, data),
        "export_base": "/dasbor/ekspor", "month": local_today().strftime("%Y-%m"),
    })


@router.get("/api/v1/dasbor", tags=["reports"], dependencies=[heads])
def office_json(request: Request, dari: str | None = None, sampai: str | None = None) -> dict:
    """The office dashboard's tables (the data behind every chart) as JSON."""
    db, code = _office(request)
    period, data = service.view_office_dashboard(db, office_code=code, dari=dari, sampai=sampai)
    return service.dashboard_json(period, data)


def export_response(columns: list[Column], rows, *, name: str, fmt: str, lang: str):  # noqa: ANN001, ANN201
    """CSV streamed as it is written; XLSX written (constant memory) to a temp file that is removed after."""
    if fmt == "xlsx":
        path = exports.xlsx_file(columns, rows, title=name, lang=lang)
        return FileResponse(path, media_type=XLSX, filename=f"{name}.xlsx",
                            background=BackgroundTask(os.unlink, path))
    return StreamingResponse(exports.csv_stream(columns, rows, lang=lang), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/dasbor/ekspor/{name}.{fmt}", include_in_schema=False, dependencies=[heads])
def office_export(name: str, fmt: str, request: Request, dari: str | None = None, sampai: str | None = None):  # noqa: ANN201
    """Any dashboard table (or `rekaman`, every recording of the period) as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise service.UnknownTable(f"{name}.{fmt}")
    db, code = _office(request)
    if name == "rekaman":  # the raw list: no dashboard to compute, rows streamed from the database
        period = resolve_period(dari=dari, sampai=sampai, today=local_today())
        rows = exports.record_rows(db, office_code=code, period=period)
        return export_response(exports.RECORD_COLUMNS, rows, name=f"{name}_{code}_{period.start}_{period.end}",
                               fmt=fmt, lang=lang_of(request))
    period, data = service.view_office_dashboard(db, office_code=code, dari=dari, sampai=sampai)
    stem = f"{name}_{code}_{period.start.isoformat()}_{period.end.isoformat()}"
    panel = service.panel_of(data, name)
    return export_response(panel.columns, panel.rows, name=stem, fmt=fmt, lang=lang_of(request))


@router.get("/dasbor/laporan-bulanan.pdf", include_in_schema=False, dependencies=[heads])
def monthly_pdf(request: Request, bulan: str | None = None) -> Response:
    """The monthly report PDF (`?bulan=2026-11`) for sending upward."""
    db, code = _office(request)
    now = utcnow()
    today = local_today(now)
    month, notes = resolve_month(bulan, today=today)
    with db.unit_of_work() as s:
        pdf = monthly_report_pdf(s, office_code=code, office_name=request.app.state.settings.office_name,
                                 month=month, today=today, now=now, notes=notes)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="laporan-bulanan-{code}-{month:%Y-%m}.pdf"'})
