"""Central dashboard pages (/dasbor-pusat), its JSON and exports."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ktpel.central.reports import service
from ktpel.reports.exports import export_response
from ktpel.reports.panels import UnknownTable, dashboard_json, panel_of
from ktpel.security.access import Role, requires
from ktpel.web.i18n import lang_of
from ktpel.web.templating import render
from ktpel.reports.schemas import Dashboard

router = APIRouter()
center = Depends(requires(Role.CENTER_ADMIN, Role.ADJUDICATOR, Role.AUDITOR))


def _regions(request: Request):  # noqa: ANN202
    try:
        from ktpel.reference import regions

        return regions(request.app.state.settings.resolved_shared_data())
    except (FileNotFoundError, OSError):  # names are a nicety: codes are shown without the reference data
        return None


@router.get("/dasbor-pusat", include_in_schema=False, dependencies=[center])
def central_page(request: Request, dari: str | None = None, sampai: str | None = None):  # noqa: ANN201
    """The data center's dashboard: every regency, the pipeline, adjudication, duplicate pairs."""
    period, data = service.view_central_dashboard(request.app.state.db, dari=dari, sampai=sampai,
                                                  regions=_regions(request))
    return render(request, "reports/central.html", {
        "period": period, "panels": data["panels"], "data": dashboard_json(period, data),
        "export_base": "/dasbor-pusat/ekspor",
    })


@router.get("/api/v1/dasbor-pusat", tags=["reports"], dependencies=[center],
            response_model=Dashboard, response_model_exclude_unset=True)
def central_json(request: Request, dari: str | None = None, sampai: str | None = None) -> dict:
    """The central dashboard's tables as JSON."""
    period, data = service.view_central_dashboard(request.app.state.db, dari=dari, sampai=sampai,
                                                  regions=_regions(request))
    return dashboard_json(period, data)


@router.get("/dasbor-pusat/ekspor/{name}.{fmt}", include_in_schema=False, dependencies=[center])
def central_export(name: str, fmt: str, request: Request, dari: str | None = None, sampai: str | None = None):  # noqa: ANN201
    if fmt not in ("csv", "xlsx"):
        raise UnknownTable(f"{name}.{fmt}")
    period, data = service.view_central_dashboard(request.app.state.db, dari=dari, sampai=sampai,
                                                  regions=_regions(request))
    panel = panel_of(data, name)
    return export_response(panel.columns, panel.rows, name=f"{name}_{period.start}_{period.end}", fmt=fmt,
                           lang=lang_of(request))
