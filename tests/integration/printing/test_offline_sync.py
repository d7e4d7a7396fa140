"""Central down: the office still prints an authorised card; when the link returns the serial reaches central."""

from __future__ import annotations

import socket

import httpx
from sqlalchemy import select

from ktpel.office import composition as office_composition
from ktpel.office.printing import service
from ktpel.office.printing.drivers import PrintingConfig
from ktpel.store.schema.printing import PrintedReportRow
from ktpel.office.sync.agent import SyncAgent
from tests.integration.printing.conftest import Office
from tests.integration.sync.conftest import (  # noqa: F401 - fixtures: central side and the link
    central_client, central_db, central_settings, linked, office_settings,
)

REG = "18.01"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_print_while_central_is_down_then_serial_is_reported(linked, db, office_settings, central_settings,
                                                            central_db, central_client):
    office = Office(db, central_settings)  # tokens signed by the real central key the office trusts
    card_id = office.card()
    with db.unit_of_work() as s:
        service.receive_blanks(s, first_serial="LS26-000001", last_serial="LS26-000005", actor="kepala")
        service.mark_present(s, card_id=card_id, regency_code=REG, actor="op", classes=[],
                             policy=service.current_policy())
    down = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url=_dead_url(), client=httpx.Client(timeout=0.5))
    assert not down.run_once(force=True).reachable
    with db.unit_of_work() as s:
        job = service.start_print(s, card_id=card_id, regency_code=REG, settings=office_settings, actor="op",
                                  config=PrintingConfig(spool_dir=office_settings.data_dir / "spool"))
    with db.unit_of_work() as s:
        service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")
    with db.unit_of_work() as s:
        jobs = service.recent_jobs(s)
        assert jobs[0].offline and service.report_states(s, jobs=jobs) == {jobs[0].report_packet_id: "QUEUED"}
    with central_db.unit_of_work() as s:
        assert s.scalar(select(PrintedReportRow)) is None
    back = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    report = back.run_once(force=True)
    assert report.reachable and report.sent >= 1
    with central_db.unit_of_work() as s:
        printed = s.scalars(select(PrintedReportRow)).one()
    assert (printed.serial, printed.card_id, printed.office_code, printed.offline) == \
        (job.blank_serial, card_id, REG, True)
    with db.unit_of_work() as s:
        jobs = service.recent_jobs(s)
        assert service.report_states(s, jobs=jobs) == {jobs[0].report_packet_id: "SENT"}
