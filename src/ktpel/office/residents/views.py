"""Resident search and detail pages (and the same as JSON)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request

from ktpel.domain.errors import KtpelError
from ktpel.office.residents import service
from ktpel.reference import regions
from ktpel.security.access import OFFICE_ROLES, requires
from ktpel.web.templating import render
from ktpel.web.params import PageNumber
from ktpel.office.residents.schemas import ResidentPage

router = APIRouter()
officers = Depends(requires(*OFFICE_ROLES))


def _parse_date(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise KtpelError("Tanggal lahir tidak valid (format TTTT-BB-HH).",
                         "Birth date is not valid (YYYY-MM-DD).", code="date_invalid") from None


@router.get("/penduduk", include_in_schema=False, dependencies=[officers])
def search_page(request: Request, q: str = "", lahir: str | None = None, page: PageNumber = 1):  # noqa: ANN201
    """Search form and results; an empty query shows the form only."""
    settings = request.app.state.settings
    result, error = None, None
    if q.strip():
        try:
            with request.app.state.db.unit_of_work() as s:
                result = service.search_residents(
                    s, text=q, regency_code=settings.office_regency, birth_date=_parse_date(lahir),
                    page=page, page_size=settings.page_size,
                )
        except KtpelError as exc:
            error = exc
    reg = regions()
    return render(request, "residents/search.html", {
        "q": q, "lahir": lahir or "", "result": result, "error": error,
        "region_name": lambda code: reg[code].name if code in reg else code,
    })


@router.get("/penduduk/{nik}", include_in_schema=False, dependencies=[officers])
def detail_page(nik: str, request: Request):  # noqa: ANN201
    settings = request.app.state.settings
    reg = regions()
    with request.app.state.db.unit_of_work() as s:
        row = service.get_resident(s, nik=nik, regency_code=settings.office_regency)
        status = service.resident_status(s, resident_id=row.id)
        family = service.family_of(s, kk_number=row.kk_number, regency_code=settings.office_regency)
        extras: dict = {}
        for panel in request.app.state.resident_panels:  # other capabilities' parts of the page
            extras.update(panel(s, resident_id=row.id))
    chain = {r.level: r.name for r in reg.parents(row.village_code)}
    return render(request, "residents/detail.html", {
        "r": row, "status": status, "family": family, "chain": chain, **extras,
    })


@router.get("/api/v1/residents", tags=["residents"], dependencies=[officers],
            response_model=ResidentPage, response_model_exclude_unset=True)
def search_api(request: Request, q: str, birth_date: dt.date | None = None,
               page: PageNumber = 1, page_size: int = Query(25, ge=1, le=200)) -> dict:
    """Residents of this office's regency by NIK, KK number or name words, paginated."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        result = service.search_residents(
            s, text=q, regency_code=settings.office_regency, birth_date=birth_date,
            page=page, page_size=page_size,
        )
    return {
        "total": result.total, "page": result.page, "page_size": result.page_size,
        "items": [
            {"nik": r.nik, "kk_number": r.kk_number, "name": r.name, "birth_place": r.birth_place,
             "birth_date": r.birth_date.isoformat(), "sex": r.sex, "village_code": r.village_code,
             "status": r.status.code}
            for r in result.items
        ],
    }
