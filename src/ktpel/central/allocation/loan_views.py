"""Central: proposed blank loans between regencies of one province, accepting one, and the loans so far."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from ktpel.central.allocation import loans
from ktpel.central.allocation.views import _names
from ktpel.domain.errors import KtpelError
from ktpel.security.access import Role, User, requires
from ktpel.web.problems import status_for
from ktpel.web.templating import render
from ktpel.central.allocation.schemas import LoanAccepted

router = APIRouter()
admins = requires(Role.CENTER_ADMIN)


def _page(request: Request, *, error: KtpelError | None = None, status: int = 200):  # noqa: ANN202
    names = _names()
    with request.app.state.db.unit_of_work() as s:
        proposals = loans.proposals(s, names=names)
        rows = loans.loans(s)
        stocks = loans.regency_stocks(s, names=names)
    return render(request, "loans/central.html", {
        "proposals": proposals, "loans": rows, "stocks": stocks, "names": names, "error": error,
        "accepted": request.query_params.get("pinjaman"),
    }, status_code=status)


@router.get("/alokasi-blanko/pinjaman", include_in_schema=False, dependencies=[Depends(admins)])
def loans_page(request: Request):  # noqa: ANN201
    """Who can spare blanks, who is short, the proposed loans inside each province."""
    return _page(request)


@router.post("/alokasi-blanko/pinjaman", include_in_schema=False)
async def accept(request: Request, user: User = Depends(admins)):  # noqa: ANN201
    form = await request.form()
    try:
        count = int(str(form.get("jumlah", "0")) or 0)
        with request.app.state.db.unit_of_work() as s:
            loan = loans.accept_loan(s, lender_code=str(form.get("pemberi", "")), count=count,
                                     borrower_code=str(form.get("penerima", "")), actor=user.username, names=_names())
            loan_id = loan.id
    except ValueError:
        return _page(request, error=KtpelError("Jumlah harus angka.", "The count must be a number."), status=400)
    except KtpelError as exc:
        return _page(request, error=exc, status=status_for(exc))
    return RedirectResponse(f"/alokasi-blanko/pinjaman?pinjaman={loan_id}", status_code=303)


@router.post("/api/v1/central/loans", tags=["allocation"], status_code=201,
             response_model=LoanAccepted, response_model_exclude_unset=True)
def accept_api(body: dict, request: Request, user: User = Depends(admins)) -> dict:
    """`{lender_code, borrower_code, count}` → the accepted loan; 409 when it exceeds the lender's stock."""
    with request.app.state.db.unit_of_work() as s:
        loan = loans.accept_loan(s, lender_code=str(body.get("lender_code", "")),
                                 borrower_code=str(body.get("borrower_code", "")), count=int(body.get("count") or 0),
                                 actor=user.username, names=_names())
        return {"id": loan.id, "state": loan.state, "lender_code": loan.lender_code,
                "borrower_code": loan.borrower_code, "count": loan.count}
