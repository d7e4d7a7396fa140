"""Issue 18, problem 3 in Chromium: data ganda shows both records side by side with both faces and KK numbers.

The other office's record photo comes from a real central over the signed office→central HTTP API. While
central is down the counter says so and the revocation cannot be confirmed; once central is back both faces
show, the choice is confirmed, and the packet reaches central, which revokes the other record."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from sqlalchemy import select

from ktpel.config import Settings
from ktpel.security.access import Role, User
from tests.e2e.test_ux import _as, check_page
from tests.integration.printing.conftest import Office
from tests.integration.sync.builders import photo_case

pytestmark = pytest.mark.e2e
OTHER_KK = "1871010101900009"


@pytest.fixture
def backend() -> str:
    """Pages under test, not storage: SQLite only (as tests/e2e/test_ux.py)."""
    return "sqlite"


@pytest.fixture
def two_sides(db, settings, tmp_path, shared_data):
    """An office (its recording of BUDI, face held here) linked to a central that holds BUDI twice: one case."""
    from fastapi.testclient import TestClient

    from ktpel.office import composition as office_composition
    from ktpel.store.db import open_database
    from ktpel.store.schema.core import EnrollmentRow
    from ktpel.office.sync.agent import SyncAgent
    from ktpel.keys.keyring import init_keys
    from ktpel.central.sync.service import register_locally
    from ktpel.web.app import create_app
    from tests.e2e.conftest import free_port

    port = free_port()  # central will listen here; nothing does yet
    office = settings.model_copy(update={"central_url": f"http://127.0.0.1:{port}", "sync_catchup_rate": 0})
    (tmp_path / "central" / "keys").mkdir(parents=True)
    shutil.copyfile(settings.data_dir / "keys" / "field.keys", tmp_path / "central" / "keys" / "field.keys")
    central = Settings(data_dir=tmp_path / "central", shared_data=shared_data)
    central_db = open_database(central, name="central")
    init_keys(office, side="office")
    init_keys(central, side="central")
    register_locally(office_settings=office, central_settings=central, central_db=central_db)

    faces = shared_data / "faces" / "att_orl"
    # the card builder signs with a central key of its own: kept apart, so the office seals packets to central's
    signer = office.model_copy(update={"data_dir": tmp_path / "card-signer"})
    case_id, eid, nik, kk = photo_case(db=db, central_db=central_db, office=Office(db, signer), faces=faces,
                                       other_kk=OTHER_KK, our_state="DUPLICATE")
    from ktpel.domain.enrollment import EnrollmentState
    from ktpel.store.schema.notify import CallListRow

    with db.unit_of_work() as s:  # our recording waits for the case too, and staff are to phone BUDI about it
        row = s.get(EnrollmentRow, eid)
        row.state = EnrollmentState.DUPLICATE.value
        s.add(CallListRow(resident_id=row.resident_id, trigger="duplicate_found", dedupe_key=f"uji-dg-{eid}",
                          variables="{}", state="OPEN"))
    central_app = create_app(settings=central, side="central", db=central_db)
    with TestClient(central_app, base_url="http://central.test") as client:  # the case reaches the office
        SyncAgent(handlers=office_composition.SYNC, settings=office, db=db, central_url="http://central.test",
                  client=client).pull_events()

    app = create_app(settings=office, side="office", db=db)

    @app.middleware("http")
    async def signed_in(request, call_next):  # stands in for a session: the test picks the role by cookie
        role = request.cookies.get("test_role")
        if role:
            request.state.user = User(id=1, username=f"uji-{role}", role=Role(role), regency_code="18.01")
        return await call_next(request)

    yield {"app": app, "central_app": central_app, "central_db": central_db, "port": port, "office": office,
           "case_id": case_id, "ours": eid, "nik": nik, "kk": kk}
    central_db.dispose()


def test_data_ganda_shows_both_faces_and_waits_for_central(two_sides, db, page, live_server):
    """Problem 3: both records with photo and KK; the other record's KK is refused; offline, no blind revoke."""
    import httpx

    from ktpel.office import composition as office_composition
    from ktpel.store.schema.central import DuplicateCaseRow
    from ktpel.store.schema.security import AuditEntryRow
    from ktpel.store.schema.sync import OutboxRow
    from ktpel.office.sync.agent import SyncAgent

    sides, case_id = two_sides, two_sides["case_id"]
    srv = live_server(sides["app"])
    page.set_default_timeout(45_000)  # a loaded 2-core machine
    _as(page, srv, "supervisor")
    page.goto(srv.url + "/panggilan")
    assert "Data ganda ditemukan" in page.inner_text("#calls")  # problem 7: listed while the case is open
    _as(page, srv, "operator")

    # central is down: the counter says so, shows its own record's face, and will not confirm
    page.goto(srv.url + "/data-ganda")
    card = f"#case-{case_id}"
    assert "Pusat tidak terhubung" in page.inner_text(f"#photo-offline-{case_id}")
    assert page.get_attribute(f"{card} .dup-record[data-enrollment=E-lain-1]", "data-photo") == "offline"
    assert page.evaluate(f"document.querySelector('{card} .dup-record[data-photo=local] img.face').naturalWidth") > 0
    check_page(page, "data-ganda-offline")
    # keeping this office's record with the OTHER record's KK is refused
    page.click(f"label[for=keep-{case_id}-1]")
    page.fill(f"#kk-{case_id}", OTHER_KK)
    page.click(f"{card} button[type=submit]")
    page.wait_for_selector("#case-error")
    assert "akan DICABUT" in page.inner_text("#case-error")
    page.click(f"label[for=keep-{case_id}-1]")
    page.fill(f"#kk-{case_id}", sides["kk"])
    page.click(f"{card} button[type=submit]")
    page.wait_for_selector("#confirm")
    assert "Pusat tidak terhubung" in page.inner_text("#photo-unavailable")
    assert page.is_disabled("#confirm-revoke")
    check_page(page, "data-ganda-confirm-offline")

    # central is back: both faces and both KK numbers side by side, then the confirmation
    live_server(sides["central_app"], port=sides["port"])
    page.goto(srv.url + "/data-ganda")
    text = page.inner_text(card)
    assert sides["kk"] in text and OTHER_KK in text and case_id not in text
    widths = page.evaluate(f"[...document.querySelectorAll('{card} img.face')].map(i => i.naturalWidth)")
    assert len(widths) == 2 and min(widths) > 0
    assert page.locator(f"#photo-offline-{case_id}").count() == 0
    check_page(page, "data-ganda")
    page.click(f"label[for=keep-{case_id}-1]")
    page.fill(f"#kk-{case_id}", sides["kk"])
    page.click(f"{card} button[type=submit]")
    page.wait_for_selector("#confirm")
    effect = page.inner_text("#effect")
    assert "1871010507909001" in effect and "tidak dapat dibatalkan" in page.inner_text("#confirm").lower()
    page.wait_for_load_state("load")  # the faces are <img>s the browser fetches after the page: measure them loaded
    assert page.evaluate("[...document.querySelectorAll('#confirm img.face')].map(i => i.naturalWidth)")[1] > 0
    assert page.locator("#confirm .kept img.face").count() == 1 and page.locator("#confirm .revoked img.face").count() == 1
    assert not page.is_disabled("#confirm-revoke")
    check_page(page, "data-ganda-confirm")
    with db.unit_of_work() as s:
        assert not s.scalars(select(OutboxRow).where(OutboxRow.kind == "duplicate.resolution")).all()
    page.click("#confirm-revoke")
    page.wait_for_url(re.compile(rf"done={case_id}"))
    with db.unit_of_work() as s:
        [packet] = s.scalars(select(OutboxRow).where(OutboxRow.kind == "duplicate.resolution")).all()
    assert json.loads(packet.content)["payload"]["keep_enrollment_id"] == sides["ours"]

    # the choice travels to central, which keeps our record and revokes the other; it audited each photo read
    agent = SyncAgent(handlers=office_composition.SYNC, settings=sides["office"], db=db,
                      client=httpx.Client(timeout=10))
    assert agent.run_once(force=True).sent >= 1
    with sides["central_db"].unit_of_work() as s:
        closed = s.get(DuplicateCaseRow, case_id)
        assert (closed.status, closed.kept_record_id, closed.revoked_record_id) == ("closed", sides["ours"], "E-lain-1")
        reads = s.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "duplicate_case.photo_read")).all()
    assert reads and {r.actor for r in reads} == {"office:18.01"}
    # problem 7: central's answer (our record print-ready again) closes the case here; the call is moot
    from ktpel.store.schema.office_duplicates import OfficeDuplicateCaseRow

    agent.run_once(force=True)
    with db.unit_of_work() as s:
        assert s.get(OfficeDuplicateCaseRow, case_id).status == "closed"
    _as(page, srv, "supervisor")
    page.goto(srv.url + "/panggilan")
    calls = page.inner_text("#calls")  # the data-ganda call is gone; the print-ready call that replaced it is not
    assert "Data ganda ditemukan" not in calls and "siap cetak" in calls.lower()
