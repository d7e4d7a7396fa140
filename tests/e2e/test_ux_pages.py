"""Issue 18, the pages the first round's browser tests did not open: axe, both widths, no sideways scroll.

Office: the head's message templates (/notifikasi/templat), the public stock board (/status/stok).
Central: the blank allocation (/alokasi-blanko) with loans between regencies (/alokasi-blanko/pinjaman), and
the audit log (/audit). The field pages (Suket, IKD) are checked in tests/e2e/test_field_suket_ikd.py."""

from __future__ import annotations

import re

import pytest

from ktpel.config import Settings
from ktpel.security.access import Role, User
from tests.e2e.test_ux import _as, check_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def backend() -> str:
    """Pages under test, not storage: SQLite only (as tests/e2e/test_ux.py)."""
    return "sqlite"


def _roles_by_cookie(app, *, regency: str | None) -> None:  # noqa: ANN001
    @app.middleware("http")
    async def signed_in(request, call_next):  # stands in for a session: the test picks the role by cookie
        role = request.cookies.get("test_role")
        if role:
            request.state.user = User(id=1, username=f"uji-{role}", role=Role(role), regency_code=regency)
        return await call_next(request)


def test_office_templates_and_public_stock_board(db, settings, page, live_server):
    from ktpel.web.app import create_app

    app = create_app(settings=settings, side="office", db=db)
    _roles_by_cookie(app, regency="18.01")
    srv = live_server(app)
    page.set_default_timeout(45_000)
    _as(page, srv, "head")
    page.goto(srv.url + "/notifikasi/templat")
    assert page.locator("textarea").count() >= 2
    check_page(page, "notifikasi-templat")
    page.context.clear_cookies()
    page.goto(srv.url + "/status/stok")
    check_page(page, "status-stok")


def test_central_allocation_loans_and_audit(page, live_server, tmp_path, shared_data):
    from ktpel.store.db import open_database
    from ktpel.store.schema.printing import BlankAllocationRow
    from ktpel.keys.keyring import init_keys
    from ktpel.web.app import create_app
    from tests.integration.sync.builders import national_record

    central = Settings(data_dir=tmp_path / "central", shared_data=shared_data)
    init_keys(central, side="central")
    central_db = open_database(central, name="central")
    with central_db.unit_of_work() as s:  # 18.01 holds blanks and little backlog; 18.02 waits with nothing
        s.add(BlankAllocationRow(plan_id="P1", regency_code="18.01", blanks=6, first_serial="KTP-000000001",
                                 last_serial="KTP-000000006", backlog=0, urgent=0, on_hand=0, published=True,
                                 created_by="admin"))
        for i in range(4):
            national_record(s, enrollment_id=f"E-prr-{i}", nik=f"18020105079{i:05d}", name="WARGA",
                            office_code="18.02", face=b"", kk_number="", state="PRINT_READY")
    app = create_app(settings=central, side="central", db=central_db)
    _roles_by_cookie(app, regency=None)
    srv = live_server(app)
    page.set_default_timeout(45_000)
    _as(page, srv, "center_admin")
    page.goto(srv.url + "/alokasi-blanko")
    assert "18.02" in page.inner_text("main")
    check_page(page, "alokasi-blanko")
    page.goto(srv.url + "/alokasi-blanko/pinjaman")
    assert page.locator("#loan-proposals tbody tr form").count() == 1
    check_page(page, "alokasi-blanko-pinjaman")
    page.click("#loan-proposals tbody tr form button[type=submit]")
    page.wait_for_url(re.compile(r"pinjaman="))
    loans = page.inner_text("#loan-list")
    assert "4" in loans and not re.search(r"\b[A-Z]{4,}_[A-Z]+\b", loans)  # no raw state codes
    check_page(page, "alokasi-blanko-pinjaman-disetujui")
    _as(page, srv, "auditor")
    page.goto(srv.url + "/audit")
    assert page.locator("main table tbody tr").count() >= 1  # the accepted loan is on the record
    check_page(page, "audit-pusat")
    central_db.dispose()
