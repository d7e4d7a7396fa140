"""The public board (/status/stok) on SQLite and PostgreSQL: no login, numbers from the ledger and queue."""

from fastapi.testclient import TestClient

from ktpel.office.printing import service as printing
from ktpel.office.transparency import service
from ktpel.web.app import create_app


def test_board_counts_stock_queue_and_estimates_the_wait(db, settings, office):
    cards = [office.card() for _ in range(3)]
    with db.unit_of_work() as s:
        printing.receive_blanks(s, first_serial="LS26-000001", last_serial="LS26-000002", actor="kepala")
    for card_id in cards:
        with db.unit_of_work() as s:
            printing.mark_present(s, card_id=card_id, regency_code="18.01", actor="op", classes=[],
                                  policy=printing.current_policy())
    with db.unit_of_work() as s:
        b = service.board(s, settings=settings)
    assert (b.blanks_available, b.queue_present, b.print_ready_waiting) == (2, 3, 3)
    assert (b.wait_days, b.short_by) == (None, 1) and "menunggu kiriman blanko" in b.wait_id
    anon = TestClient(create_app(settings=settings, side="office", db=db))
    page = anon.get("/status/stok")
    assert page.status_code == 200 and 'data-available="2"' in page.text and 'data-queue="3"' in page.text
    assert "GRATIS" in page.text
    assert anon.get("/api/v1/public/stock").json()["short_by"] == 1
    assert "/status/stok" in anon.get("/status").text


def test_empty_office_says_nobody_waits(db, settings):
    with db.unit_of_work() as s:
        b = service.board(s, settings=settings)
    assert (b.blanks_available, b.queue_present, b.wait_days) == (0, 0, 0)
