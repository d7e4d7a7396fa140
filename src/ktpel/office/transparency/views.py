"""The public board page (/status/stok) and its JSON (/api/v1/public/stock); no login."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ktpel.office.transparency import service
from ktpel.security.access import public
from ktpel.web.templating import render
from ktpel.office.transparency.schemas import StockBoard

router = APIRouter()


@router.get("/status/stok", include_in_schema=False, dependencies=[Depends(public)])
def board_page(request: Request):  # noqa: ANN201
    """Today's blank stock, queue length and waiting estimate of this office."""
    with request.app.state.db.unit_of_work() as s:
        board = service.board(s, settings=request.app.state.settings)
    return render(request, "transparency/board.html", {"b": board})


@router.get("/api/v1/public/stock", tags=["public"], dependencies=[Depends(public)],
            response_model=StockBoard, response_model_exclude_unset=True)
def board_api(request: Request) -> dict:
    """The same numbers as JSON (for a regency website or a screen in the waiting room)."""
    with request.app.state.db.unit_of_work() as s:
        return service.board(s, settings=request.app.state.settings).as_dict()
