"""Central: propose a blank allocation from the national stock, see it as a table and chart, publish it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ktpel.central.allocation import service
from ktpel.domain.errors import KtpelError
from ktpel.security.access import Role, User, requires
from ktpel.security.audit import record_audit
from ktpel.web.problems import status_for
from ktpel.web.templating import render

router = APIRouter()
admins = requires(Role.CENTER_ADMIN)


def _names() -> dict[str, str]:
    from ktpel.reference import regions

    reg = regions()
    return {r.code: r.name for p in reg.children(None) for r in reg.children(p.code)}


def _plan(request: Request, stock: int, urgent_share: float):  # noqa: ANN202
    with request.app.state.db.unit_of_work() as s:
        needs = service.needs_from_database(s, names=_names())
    return service.propose(stock=stock, needs=needs, urgent_share=urgent_share) if needs else None


def _numbers(request: Request) -> tuple[int, float]:
    try:
        stock = max(0, min(10_000_000, int(request.query_params.get("stok", "6000"))))
        share = max(0.0, min(1.0, float(request.query_params.get("mendesak", "0.10"))))
    except ValueError:
        raise KtpelError("Stok dan porsi mendesak harus angka.", "Stock and urgent share must be numbers.",
                         code="allocation_input") from None
    return stock, share


@router.get("/alokasi-blanko", include_in_schema=False, dependencies=[Depends(admins)])
def allocation_page(request: Request):  # noqa: ANN201
    """The proposed split of a national stock over regencies (PRR backlog, urgent share, stock on hand)."""
    stock, share = _numbers(request)
    return render(request, "printing/allocation.html", {
        "plan": _plan(request, stock, share), "stock": stock, "share": share,
        "published": request.query_params.get("plan"),
    })


@router.get("/alokasi-blanko/grafik.png", include_in_schema=False, dependencies=[Depends(admins)])
def allocation_chart(request: Request) -> Response:
    stock, share = _numbers(request)
    plan = _plan(request, stock, share)
    if plan is None:
        return Response(status_code=204)
    with tempfile.TemporaryDirectory() as tmp:
        path = service.chart_png(plan, Path(tmp) / "plan.png")
        return Response(path.read_bytes(), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/alokasi-blanko", include_in_schema=False)
async def publish(request: Request, user: User = Depends(admins)):  # noqa: ANN201
    """Save the plan and send each office its batch (`blanks.allocated`), audited."""
    form = await request.form()
    try:
        stock, share = int(form.get("stok", 0)), float(form.get("mendesak", 0.1))
        plan = _plan(request, stock, share)
        if plan is None or plan.allocated == 0:
            raise KtpelError("Tidak ada yang dialokasikan.", "Nothing to allocate.", code="allocation_empty")
        with request.app.state.db.unit_of_work() as s:
            plan_id = service.save_plan(s, plan=plan, actor=user.username, publish=True)
            record_audit(s, actor=user.username, action="blanks.allocated", subject=f"plan:{plan_id}",
                         after={"stock": stock, "allocated": plan.allocated,
                                "regencies": {a.need.code: a.blanks for a in plan.allocations if a.blanks}})
    except (KtpelError, ValueError) as exc:
        err = exc if isinstance(exc, KtpelError) else KtpelError("Input tidak valid.", "Invalid input.")
        return render(request, "printing/allocation.html", {"plan": None, "stock": 0, "share": 0.1,
                                                            "published": None, "error": err},
                      status_code=status_for(err))
    return RedirectResponse(f"/alokasi-blanko?stok={stock}&mendesak={share}&plan={plan_id}", status_code=303)
