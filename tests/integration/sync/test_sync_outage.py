"""Central down for the whole test: the office keeps recording, shows the outage, and recovers cleanly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket

from sqlalchemy import select

from ktpel.domain.clock import now as clock_now
from ktpel.office import composition as office_composition
from ktpel.security.access import Role
from ktpel.store.schema.sync import OutageRow
from ktpel.sync.wiring import HandlerContext
from ktpel.office.sync.agent import SyncAgent
from ktpel.office.sync.outage import current_state
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client
from tests.integration.sync.builders import queued_enrollment


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


ended: list[int] = []


def remember_end(session, *, context, outage_id, started_at, ended_at) -> None:  # noqa: ANN001
    assert ended_at > started_at
    ended.append(outage_id)


def test_office_records_and_shows_outage_while_central_is_down(linked, db, office_settings, central_client,
                                                               monkeypatch):
    import httpx

    ended.clear()
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url=_dead_url(), client=httpx.Client(timeout=0.5))
    for n in range(3):
        with db.unit_of_work() as s:
            queued_enrollment(s, n=n)
        report = agent.run_once(force=True)
        assert report.sent == 0 and not report.reachable
    with db.unit_of_work() as s:
        state = current_state(s)
        outages = list(s.scalars(select(OutageRow)))
    assert not state.reachable and state.queued == 3 and state.since is not None
    assert len(outages) == 1 and outages[0].ended_at is None and "ConnectError" in outages[0].cause
    assert state.next_attempt_at is not None  # backing off, not hammering

    app = create_app(settings=office_settings, side="office", db=db)
    client = authed_client(app, db, Role.OPERATOR)
    page = client.get("/sinkron")
    assert page.status_code == 200
    assert 'id="outage-banner"' in page.text and "Koneksi ke pusat terputus" in page.text
    assert "3 paket menunggu kirim" in page.text
    pdf = client.get("/sinkron/pengumuman.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/api/v1/sync/status").json()["reachable"] is False

    # central comes back: the queue drains, the outage closes, hooks run
    hooks = dataclasses.replace(office_composition.SYNC, outage_ended=[remember_end])
    back = SyncAgent(handlers=hooks, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    report = back.run_once(force=True)
    assert report.sent == 3 and report.reachable
    with db.unit_of_work() as s:
        state = current_state(s)
        outage = s.scalar(select(OutageRow))
    assert state.reachable and state.queued == 0 and outage.ended_at is not None
    assert ended == [outage.id]
    assert "outage-banner" not in client.get("/sinkron").text


def test_sync_page_requires_an_office_role(linked, db, office_settings):
    from fastapi.testclient import TestClient

    app = create_app(settings=office_settings, side="office", db=db)
    anonymous = TestClient(app)
    assert anonymous.get("/api/v1/sync/status").status_code == 401
    operator = authed_client(app, db, Role.OPERATOR)
    # the demo switch is for supervisors, and only in demo mode
    r = operator.post("/sinkron/demo/pusat", data={"csrf_token": operator.csrf}, follow_redirects=False)
    assert r.status_code == 403
    supervisor = authed_client(app, db, Role.SUPERVISOR)
    r = supervisor.post("/sinkron/demo/pusat", data={"csrf_token": supervisor.csrf}, follow_redirects=False)
    assert r.status_code == 404


def failing_hook(session, *, context, outage_id, started_at, ended_at) -> None:  # noqa: ANN001
    from ktpel.store.schema.core import DomainEventRow

    session.add(DomainEventRow(name="hook.partial", subject_id="x", data={}))
    session.flush()
    raise RuntimeError("hook bug")


def test_a_failing_end_hook_does_not_block_recovery(db, settings, monkeypatch):
    from sqlalchemy import func

    from ktpel.store.schema.core import DomainEventRow
    from ktpel.office.sync.outage import record_failure, record_success

    ended.clear()
    with db.unit_of_work() as s:
        record_failure(s, cause="test", next_attempt_at=None)
    # the outage ends at the time of the context's clock (an hour on, so the hooks see a real duration)
    later = clock_now() + dt.timedelta(hours=1)
    with db.unit_of_work() as s:
        closed = record_success(s, context=HandlerContext(settings=settings, clock=lambda: later),
                                ended_hooks=[failing_hook, remember_end])
    assert closed is not None and ended == [closed.id] and closed.ended_at == later
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(DomainEventRow)
                        .where(DomainEventRow.name == "hook.partial")) == 0  # its savepoint rolled back
        assert current_state(s).reachable


class FakeCentral:
    """Stands in for the demo's child process: only the switch logic is under test here."""

    def __init__(self) -> None:
        self.up = True

    def running(self) -> bool:
        return self.up

    def stop(self) -> None:
        self.up = False

    def start(self) -> None:
        self.up = True


def test_demo_switch_stops_and_starts_central_for_a_supervisor(linked, db, office_settings):
    app = create_app(settings=office_settings.model_copy(update={"demo_mode": True}), side="office", db=db)
    app.state.demo_central = FakeCentral()
    operator = authed_client(app, db, Role.OPERATOR)
    assert 'id="demo-central"' not in operator.get("/sinkron").text
    supervisor = authed_client(app, db, Role.SUPERVISOR)
    assert "Demo: hentikan pusat" in supervisor.get("/sinkron").text
    r = supervisor.post("/sinkron/demo/pusat", data={"csrf_token": supervisor.csrf}, follow_redirects=False)
    assert r.status_code == 303 and not app.state.demo_central.running()
    assert "Demo: jalankan pusat" in supervisor.get("/sinkron").text
    supervisor.post("/sinkron/demo/pusat", data={"csrf_token": supervisor.csrf})
    assert app.state.demo_central.running()


def test_an_ended_outage_reaches_central_and_its_national_dashboard(linked, db, office_settings, central_client,
                                                                  central_db, clock):
    """The office reports the closed outage as a packet; central's dashboard shows when and how long."""
    import datetime as dt

    import httpx

    from ktpel.central.reports.central import outage_panel
    from ktpel.reports.period import Period
    from ktpel.store.schema.sync import CentralPacketRow

    down = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url=_dead_url(), client=httpx.Client(timeout=0.5))
    with db.unit_of_work() as s:
        queued_enrollment(s, n=0)
    assert not down.run_once(force=True).reachable
    with db.unit_of_work() as s:  # the outage began three hours ago
        s.scalar(select(OutageRow)).started_at -= dt.timedelta(hours=3)
    back = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    assert back.run_once(force=True).sent == 2  # the recording, and the report queued as the outage closed
    with central_db.unit_of_work() as s:
        (report,) = s.scalars(select(CentralPacketRow).where(CentralPacketRow.kind == "outage.report")).all()
        assert report.office_code == "18.01"
        today = clock.today()
        panel = outage_panel(s, period=Period(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=1)),
                             regions=None)
    (row,) = panel.rows
    assert row["kode"] == "18.01" and row["jumlah"] == 1 and 2.9 < row["total_jam"] < 3.2
