"""Printing in a real browser: the queue reorders by priority, a card prints on a blank, pickup by fingerprint."""

import pytest

from ktpel.office.printing.drivers import PrintingConfig
from ktpel.security.access import Role, User
from tests.integration.printing.conftest import Office


@pytest.fixture
def counter(db, settings, shared_data):
    from ktpel.biometrics import get_engine
    from ktpel.web.app import create_app

    app = create_app(settings=settings, side="office", db=db)
    app.state.printing_config = PrintingConfig(spool_dir=settings.data_dir / "spool")

    @app.middleware("http")
    async def as_head(request, call_next):  # stands in for a signed-in session
        request.state.user = User(id=1, username="kadis", role=Role.HEAD, regency_code="18.01")
        return await call_next(request)

    folder = shared_data / "fingerprints" / "FVC2002_DB1_B"
    enrolled = (folder / "101_1.tif").read_bytes()
    template = get_engine().extract_finger(enrolled, finger_position=2).to_bytes()
    office = Office(db, settings)
    face = (shared_data / "faces" / "att_orl" / "s2" / "1.pgm").read_bytes()
    cards = {name: office.card(name=name, captures={"finger_2": (enrolled, template), "face": (face, None)})
             for name in ("ANDI PRATAMA", "SITI AMINAH")}
    return app, cards, folder


def _nik(db, card_id):
    from sqlalchemy import select

    from ktpel.store.schema.core import CardRow, ResidentRow

    with db.unit_of_work() as s:
        return s.scalar(select(ResidentRow.nik).join(CardRow, CardRow.resident_id == ResidentRow.id)
                        .where(CardRow.id == card_id))


def test_queue_print_and_pickup(counter, db, page, live_server, tmp_path):
    app, cards, prints = counter
    srv = live_server(app)
    page.goto(srv.url + "/blanko")
    page.fill("#receive-form input[name=awal]", "LS26-000001")
    page.fill("#receive-form input[name=akhir]", "LS26-000010")
    page.click("#receive-form button")
    page.wait_for_selector("#batches td:has-text('LS26-000010')")
    # two residents arrive; the second claims the health class with a BPJS referral and goes first
    page.goto(srv.url + "/cetak")
    page.fill("#present-form input[name=nik]", _nik(db, cards["ANDI PRATAMA"]))
    page.click("#present-form button[type=submit]")
    page.wait_for_selector("#notice")
    assert page.inner_text("#queue tbody tr:first-child").count("ANDI PRATAMA") == 1
    page.fill("#present-form input[name=nik]", _nik(db, cards["SITI AMINAH"]))
    page.check("#present-form input[value=health]")
    page.click("#present-form button[type=submit]")
    page.wait_for_selector("#notice")
    rows = page.locator("#queue tbody tr")
    assert "SITI AMINAH" in rows.nth(0).inner_text() and "ANDI PRATAMA" in rows.nth(1).inner_text()
    # the preview is a real image
    preview = page.request.get(srv.url + f"/cetak/kartu/{cards['SITI AMINAH']}/pratinjau.png")
    assert preview.body().startswith(b"\x89PNG")
    # print the first in line, check the PDF, confirm
    rows.nth(0).locator("button.print").click()
    page.wait_for_selector("#open-jobs")
    pdf = page.request.get(srv.url + page.get_attribute("#open-jobs a[href$='.pdf']", "href"))
    assert pdf.body().startswith(b"%PDF")
    page.click("#open-jobs button.confirm-printed")
    page.wait_for_selector("#notice:has-text('Kartu tercetak')")
    assert "SITI AMINAH" not in page.inner_text("#queue")
    assert "LS26-000001" in page.inner_text("#recent")
    # pickup: a different finger is refused, the enrolled finger issues the card
    page.goto(srv.url + "/ambil?nik=" + _nik(db, cards["SITI AMINAH"]))
    page.set_input_files("#pickup-form input[name=gambar]", str(prints / "105_2.tif"))
    page.click("#pickup-form button")
    page.wait_for_selector("#error")
    assert "TIDAK diserahkan" in page.inner_text("#error")
    page.goto(srv.url + "/ambil?nik=" + _nik(db, cards["SITI AMINAH"]))
    page.set_input_files("#pickup-form input[name=gambar]", str(prints / "101_3.tif"))
    page.click("#pickup-form button")
    page.wait_for_selector("#notice")
    page.goto(srv.url + "/ambil?nik=" + _nik(db, cards["SITI AMINAH"]))
    assert "Sudah diserahkan" in page.inner_text("#pickup")
    # the ledger balances after all of it
    page.goto(srv.url + "/blanko")
    assert "seimbang" in page.inner_text("#balanced")
