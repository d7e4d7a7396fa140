"""The office's sync page (/sinkron), the counter notice PDF, sync status JSON and the demo central switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.security.access import OFFICE_ROLES, Role, User, requires
from ktpel.security.audit import record_audit
from ktpel.office.sync import service
from ktpel.office.sync.notice import counter_notice_pdf
from ktpel.office.sync.outage import current_state, outage_history
from ktpel.web.templating import render
from ktpel.sync.schemas import SyncStatus

router = APIRouter()
officers = Depends(requires(*OFFICE_ROLES))
supervisors = requires(Role.SUPERVISOR, Role.HEAD)


class DemoOnly(KtpelError):
    code = "demo_only"
    http_status = 404


def _page_data(request: Request) -> dict:
    with request.app.state.db.unit_of_work() as s:
        return {"state": current_state(s), "queue": service.office_queue(s), "totals": service.outbox_totals(s),
                "outages": outage_history(s), "demo": request.app.state.settings.demo_mode,
                "central_running": _demo_central_running(request)}


def _demo_central_running(request: Request) -> bool | None:
    control = getattr(request.app.state, "demo_central", None)
    return None if control is None else control.running()


@router.get("/sinkron", include_in_schema=False, dependencies=[officers])
def sync_page(request: Request):  # noqa: ANN201
    """State of the link to central, the queue, and the outage history."""
    return render(request, "sync/office.html", _page_data(request))


@router.get("/sinkron/pengumuman.pdf", include_in_schema=False, dependencies=[officers])
def counter_notice(request: Request) -> Response:
    """The notice for the counter, in Bahasa Indonesia, with the announced end of maintenance if known."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        state = current_state(s)
    pdf = counter_notice_pdf(office_name=settings.office_name, state=state, now=utcnow())
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="pengumuman-loket.pdf"'})


@router.get("/api/v1/sync/status", tags=["sync"], dependencies=[officers], response_model=SyncStatus)
def sync_status(request: Request) -> dict:
    """Reachability of central, queued packets, last success and the current announcement."""
    with request.app.state.db.unit_of_work() as s:
        st = current_state(s)
        totals = service.outbox_totals(s)
    ann = st.announcement
    return {
        "reachable": st.reachable, "since": st.since.isoformat() if st.since else None, "queued": st.queued,
        "last_success": st.last_success.isoformat() if st.last_success else None, "outbox": totals,
        "last_error": st.last_error,
        "announcement": None if ann is None else {
            "starts_at": ann.starts_at.isoformat(), "ends_at": ann.ends_at.isoformat() if ann.ends_at else None,
            "message_id": ann.message_id, "message_en": ann.message_en},
    }


@router.post("/sinkron/kirim", include_in_schema=False)
def sync_now(request: Request, user: User = Depends(requires(*OFFICE_ROLES))):  # noqa: ANN201
    """Ask the background agent to try central now instead of waiting for its backoff."""
    from ktpel.store.schema.sync import LinkRow
    from ktpel.web.responses import redirect

    with request.app.state.db.unit_of_work() as s:
        row = s.get(LinkRow, 1)
        if row is not None:
            row.next_attempt_at = None
        _audit(s, user=user, action="sync.try_now", subject="central")
    return redirect("/sinkron")


@router.post("/sinkron/demo/pusat", include_in_schema=False)
def demo_central(request: Request, user: User = Depends(supervisors)):  # noqa: ANN201
    """Demo only: stop or start the local central process to show an outage and its recovery."""
    from ktpel.web.responses import redirect

    control = getattr(request.app.state, "demo_central", None)
    if not request.app.state.settings.demo_mode or control is None:
        raise DemoOnly("Hanya tersedia dalam mode demo.", "Only available in demo mode.")
    if control.running():
        action = "demo.central_stop"
        control.stop()
    else:
        action = "demo.central_start"
        control.start()
    with request.app.state.db.unit_of_work() as s:
        _audit(s, user=user, action=action, subject="central")
    return redirect("/sinkron")


def _audit(session, *, user: User, action: str, subject: str) -> None:  # noqa: ANN001
    record_audit(session, actor=user.username, action=action, subject=subject)
