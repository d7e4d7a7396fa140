"""In Chromium: a supervisor sees the outage banner while central is down, prints the counter notice,
and watches the queue drain once central is back."""

from __future__ import annotations

import re
import shutil

from ktpel.config import Settings
from ktpel.office import composition as office_composition
from ktpel.security.access import Role

PASSWORD = "supervisor-sandi-kuat-e2e"


def test_outage_banner_notice_and_recovery(page, live_server, tmp_path, shared_data):
    import httpx

    from ktpel.security.service import add_user
    from ktpel.store.db import open_database
    from ktpel.office.sync.agent import SyncAgent
    from ktpel.keys.keyring import init_keys
    from ktpel.office.sync.outbox import enqueue_packet
    from ktpel.central.sync.service import register_locally
    from ktpel.web.app import create_app
    from tests.e2e.conftest import free_port

    office = Settings(data_dir=tmp_path / "office", shared_data=shared_data, sync_backoff_base_s=0.01,
                      sync_backoff_max_s=0.05, sync_catchup_rate=0)
    db = open_database(office, name="office")
    (tmp_path / "central" / "keys").mkdir(parents=True)
    shutil.copyfile(office.data_dir / "keys" / "field.keys", tmp_path / "central" / "keys" / "field.keys")
    central = Settings(data_dir=tmp_path / "central", shared_data=shared_data)
    central_db = open_database(central, name="central")
    init_keys(office, side="office")
    init_keys(central, side="central")
    register_locally(office_settings=office, central_settings=central, central_db=central_db)
    with db.unit_of_work() as s:
        add_user(s, username="spv1", role=Role.SUPERVISOR, regency_code="18.01", password=PASSWORD)
        for i in range(4):
            enqueue_packet(s, kind="card.issued", subject_id=f"card-{i}", payload={"i": i})

    central_port = free_port()  # nothing listens yet: central is down
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office, db=db, central_url=f"http://127.0.0.1:{central_port}",
                      client=httpx.Client(timeout=1))
    assert not agent.run_once(force=True).reachable
    srv = live_server(create_app(settings=office, side="office", db=db))

    page.goto(f"{srv.url}/masuk?next=/sinkron")
    page.fill("#username", "spv1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sinkron$"))
    banner = page.inner_text("#outage-banner")
    assert "Koneksi ke pusat terputus" in banner and "4 paket menunggu kirim" in banner
    assert page.get_attribute("#link-state", "data-reachable") == "0"
    assert page.inner_text("#queued") == "4"
    # issue 18, problem 9: one zone on screen, the banner and the panels below alike; no raw ISO instants
    import re as _re

    shown = page.inner_text("main") + banner
    assert "WIB" in page.inner_text("#link-state") and "UTC" not in shown.replace("UTC+7", "")
    assert not _re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", shown)
    with page.expect_download() as dl:
        page.evaluate("""() => { const a = document.querySelector('#notice-pdf'); a.setAttribute('download', '');
                                 a.click(); }""")
    assert dl.value.path().read_bytes().startswith(b"%PDF")

    live_server(create_app(settings=central, side="central", db=central_db), port=central_port)
    assert agent.run_once(force=True).sent == 5  # the four waiting, and the report of the outage just ended
    from sqlalchemy import select

    from ktpel.store.schema.sync import CentralPacketRow

    with central_db.unit_of_work() as s:
        assert s.scalars(select(CentralPacketRow.kind).where(CentralPacketRow.kind == "outage.report")).all() \
            == ["outage.report"]
    page.goto(f"{srv.url}/sinkron")
    assert page.locator("#outage-banner").count() == 0
    assert page.get_attribute("#link-state", "data-reachable") == "1"
    assert page.inner_text("#queued") == "0"
    assert "masih berlangsung" not in page.inner_text("#outages")
