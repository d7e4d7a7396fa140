"""Central allocation reaching an office as `blanks.allocated`, and the printing CLI commands."""

import json

from sqlalchemy import select
from typer.testing import CliRunner

from ktpel.domain.clock import now as clock_now
from ktpel.central.allocation import service as allocation
from ktpel.central.allocation.plan import RegencyNeed
from ktpel.office import composition as office_composition
from ktpel.office.printing import ledger
from ktpel.store.schema.printing import BlankAllocationRow, BlankBatchRow
from ktpel.sync.wiring import HandlerContext


def test_published_allocation_books_the_batch_once_at_the_office(settings, db):
    """Central and office share one test database here: publish on the central side, apply on the office."""
    from ktpel.central.sync.events import events_after
    from ktpel.office.sync.apply import apply_events

    plan = allocation.propose(stock=300, urgent_share=0.1, needs=[
        RegencyNeed("18.01", "Lampung Selatan", backlog=1_000, urgent=0, on_hand=0),
        RegencyNeed("18.02", "Lampung Tengah", backlog=500, urgent=0, on_hand=0)])
    with db.unit_of_work() as s:
        plan_id = allocation.save_plan(s, plan=plan, actor="admin-pusat", publish=True)
        events = events_after(s, office_code="18.01", after=0)
    assert [e["kind"] for e in events] == ["blanks.allocated"]
    assert apply_events(db, context=HandlerContext(settings=settings),
                        handlers=office_composition.SYNC, events=events) == 1
    with db.unit_of_work() as s:
        batch = s.scalars(select(BlankBatchRow)).one()
        mine = s.scalars(select(BlankAllocationRow).where(BlankAllocationRow.regency_code == "18.01")).one()
        assert (batch.source, batch.count, batch.first_serial) == ("central", mine.blanks, mine.first_serial)
        assert batch.allocation_ref == f"{plan_id}:{plan_id}-18.01"
    # a re-delivery (cursor reset, as after a restore) books nothing twice
    from ktpel.office.printing.service import apply_blanks_allocated

    with db.unit_of_work() as s:
        apply_blanks_allocated(s, context=HandlerContext(settings=settings),
                               seq=1, kind="blanks.allocated", subject_id=events[0]["subject_id"],
                               data=events[0]["data"])
        r = ledger.reconcile(s)
        assert (r.received, r.available, r.balanced) == (mine.blanks, mine.blanks, True)
    # the next plan continues the national serial sequence
    with db.unit_of_work() as s:
        allocation.save_plan(s, plan=plan, actor="admin-pusat", publish=False)
        firsts = sorted(s.scalars(select(BlankAllocationRow.first_serial)))
    assert len(set(firsts)) == len(firsts)


def test_central_records_printed_reports_as_stock_used(db):
    """Stock on hand per regency at central = published allocations − serials reported printed."""
    import datetime as dt

    from ktpel.central.allocation.printed import record_card_printed

    plan = allocation.propose(stock=100, urgent_share=0, needs=[RegencyNeed("18.01", "A", 500, 0, 0)])
    with db.unit_of_work() as s:
        allocation.save_plan(s, plan=plan, actor="admin", publish=True)
        first = s.scalar(select(BlankAllocationRow.first_serial))
        record_card_printed(s, packet_id="p1", office_code="18.01", kind="card.printed", subject_id="c1",
                            payload={"blank_serial": first, "card_id": "c1",
                                     "printed_at": clock_now().isoformat()})
    with db.unit_of_work() as s:
        [need] = allocation.needs_from_database(s)
    assert (need.code, need.on_hand) == ("18.01", 99)


def test_simulate_command_compares_policies_and_refuses_a_bad_one(tmp_path):
    from ktpel.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nageing_per_day: cepat\nclasses:\n  a: {label_id: A, weight: 1}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "--regency", "18.01", "--days", "30", "--blanks-per-week", "300",
                                 "--prr-per-day", "40", "--policy", str(bad)])
    assert result.exit_code == 2 and "baris 2" in result.output
    chart = tmp_path / "sim.png"
    result = runner.invoke(app, ["simulate", "--regency", "18.01", "--days", "30", "--blanks-per-week", "300",
                                 "--prr-per-day", "40", "--chart", str(chart), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["results"][0]["classes"][0]["class"] == "all"
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_allocate_command_from_a_needs_file(tmp_path):
    from ktpel.cli import app

    needs = tmp_path / "needs.csv"
    needs.write_text("regency_code,backlog,urgent,on_hand\n18.01,20000,1500,6000\n18.02,12000,,500\n")
    chart = tmp_path / "plan.png"
    result = CliRunner().invoke(app, ["central", "allocate", "--stock", "6000", "--needs", str(needs),
                                      "--chart", str(chart), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout.strip().splitlines()[0])
    assert body["allocated"] == 6000 and {r["code"] for r in body["regencies"]} == {"18.01", "18.02"}
    assert chart.read_bytes().startswith(b"\x89PNG")
    needs.write_text("regency_code,backlog\n18.01,banyak\n")
    result = CliRunner().invoke(app, ["central", "allocate", "--stock", "10", "--needs", str(needs)])
    assert result.exit_code == 2 and "baris 2" in result.output


def test_central_allocation_page_proposes_charts_and_publishes(settings, db):
    import datetime as dt

    from fastapi.testclient import TestClient

    from ktpel.security.access import Role, User
    from ktpel.store.schema.central import NationalRecordRow
    from ktpel.web.app import create_app

    with db.unit_of_work() as s:
        for i, office in enumerate(["18.01"] * 30 + ["18.02"] * 10):
            s.add(NationalRecordRow(id=f"e{i}", packet_id=f"p{i}", office_code=office, nik=f"{i:016d}",
                                    name="X", birth_place="Y", birth_date=dt.date(1990, 1, 1), sex="L",
                                    street="Z", templates="{}", state="PRINT_READY"))
    app = create_app(settings=settings, side="central", db=db)

    @app.middleware("http")
    async def as_admin(request, call_next):  # stands in for a signed-in session
        request.state.user = User(id=1, username="admin-pusat", role=Role.CENTER_ADMIN)
        return await call_next(request)

    client = TestClient(app)
    page = client.get("/alokasi-blanko", params={"stok": 20, "mendesak": 0})
    assert page.status_code == 200 and 'id="allocated">20<' in page.text
    assert "Kabupaten Lampung Selatan" in page.text
    chart = client.get("/alokasi-blanko/grafik.png", params={"stok": 20, "mendesak": 0})
    assert chart.content.startswith(b"\x89PNG")
    done = client.post("/alokasi-blanko", data={"stok": 20, "mendesak": 0}, follow_redirects=False)
    assert done.status_code == 303
    with db.unit_of_work() as s:
        rows = {r.regency_code: r.blanks for r in s.scalars(select(BlankAllocationRow))}
    assert rows == {"18.01": 15, "18.02": 5}  # equal cover: half of each backlog
    # the next proposal sees the published blanks as stock on hand
    assert 'id="allocated">0<' in client.get("/alokasi-blanko", params={"stok": 0}).text
