"""Office dashboard pages (/dasbor), its JSON, exports and the monthly PDF."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ktpel.domain.events import utcnow
from ktpel.office.reports import service
from ktpel.reports import exports
from ktpel.reports.exports import export_response
from ktpel.office.reports.monthly import monthly_report_pdf, resolve_month
from ktpel.reports.panels import Column, UnknownTable, dashboard_json, panel_of
from ktpel.reports.period import local_today, resolve_period
from ktpel.security.access import Role, requires
from ktpel.web.i18n import lang_of
from ktpel.web.templating import render
from ktpel.reports.schemas import Dashboard

router = APIRouter()
heads = Depends(requires(Role.SUPERVISOR, Role.HEAD))


def _office(request: Request) -> tuple:
    settings = request.app.state.settings
    return request.app.state.db, settings.office_regency


@router.get("/dasbor", include_in_schema=False, dependencies=[heads])
def office_page(request: Request, dari: str | None = None, sampai: str | None = None):  # noqa: ANN201
    """The head of office's dashboard."""
    db, code = _office(request)
    period, data = service.view_office_dashboard(db, office_code=code, dari=dari, sampai=sampai)
    return render(request, "reports/office.html", {
        "period": period, "panels": data["panels"], "data": dashboard_json(period, data),
        "export_base": "/dasbor/ekspor", "month": local_today().strftime("%Y-%m"),
    })


@router.get("/api/v1/dasbor", tags=["reports"], dependencies=[heads],
            response_model=Dashboard, response_model_exclude_unset=True)
def office_json(request: Request, dari: str | None = None, sampai: str | None = None) -> dict:
    """The office dashboard's tables (the data behind every chart) as JSON."""
    db, code = _office(request)
    period, data = service.view_office_dashboard(db, office_code=code, dari=dari, sampai=sampai)
    return dashboard_json(period, data)


@router.get("/dasbor/ekspor/{name}.{fmt}", include_in_schema=False, dependencies=[heads])
def office_export(name: str, fmt: str, request: Request, dari: str | None = None, sampai: str | None = None):  # noqa: ANN201
    """Any dashboard table (or `rekaman`, every recording of the period) as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise UnknownTable(f"{name}.{fmt}")
    db, code = _office(request)
    if name == "rekaman":  # the raw list: no dashboard to compute, rows streamed from the database
        period = resolve_period(dari=dari, sampai=sampai, today=local_today())
        rows = exports.record_rows(db, office_code=code, period=period)
        return export_response(exports.RECORD_COLUMNS, rows, name=f"{name}_{code}_{period.start}_{period.end}",
                               fmt=fmt, lang=lang_of(request))
    period, data = service.view_office_dashboard(db, office_code=code, dari=dari, sampai=sampai)
    stem = f"{name}_{code}_{period.start.isoformat()}_{period.end.isoformat()}"
    panel = panel_of(data, name)
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
