"""The office dashboard computes its numbers from the database, on SQLite and PostgreSQL."""

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from ktpel.office.reports import service
from ktpel.demo.office_history import write_history
from ktpel.security.access import Role
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow
from ktpel.web.app import create_app

from ktpel.reports.period import day_start_utc

from .conftest import client_for


def _count(db, query) -> int:
    with db.unit_of_work() as s:
        return s.scalar(query)


def test_history_is_written_once(history_db, now):
    before = _count(history_db, select(func.count()).select_from(EnrollmentRow))
    assert write_history(history_db, office_code="18.01", now=now) == 0
    assert _count(history_db, select(func.count()).select_from(EnrollmentRow)) == before


def test_dashboard_numbers_match_the_database(history_db, now, clock):
    first_day = clock.today() - dt.timedelta(days=59)
    period, data = service.view_office_dashboard(history_db, office_code="18.01", dari=first_day.isoformat(),
                                                 sampai=clock.today().isoformat(), now=now)
    panels = data["panels"]
    waiting = _count(history_db, select(func.count()).select_from(CardRow)
                     .where(CardRow.state.in_(("PRINT_READY", "AUTHORISED"))))
    assert data["backlog"] == waiting
    assert sum(r["jumlah"] for r in panels["menunggu"].rows) == waiting  # every waiting resident in one class
    from ktpel.reports.sources import table

    blanks = table("blanks", "state")
    if blanks is not None:
        assert data["blanks"] == _count(history_db, select(func.count()).select_from(blanks)
                                        .where(blanks.c.state == "AVAILABLE"))
    # the series ends on today's true backlog, and each day's recordings add up to the table's rows
    assert panels["backlog_blanko"].rows[-1]["backlog"] == waiting
    lo = day_start_utc(first_day)  # 00:00 WIB of the first day, 17:00 UTC the day before
    recorded = _count(history_db, select(func.count()).select_from(EnrollmentRow).where(EnrollmentRow.created_at >= lo))
    assert sum(r["recordings"] for r in panels["harian"].rows) == recorded
    printed = _count(history_db, select(func.count()).select_from(DomainEventRow)
                     .where(DomainEventRow.name == "card.print", DomainEventRow.at >= lo))
    assert sum(r["printed"] for r in panels["harian"].rows) == printed
    from ktpel.store.schema.ikd import IkdActivationRow

    activated = _count(history_db, select(func.count()).select_from(IkdActivationRow)
                       .where(IkdActivationRow.activated_at >= lo))
    assert activated > 0 and sum(r["ikd_aktif"] for r in panels["ikd_blanko"].rows) == data["ikd"]["ikd_aktif"] == activated
    weeks = panels["waktu_layanan"].rows
    assert weeks and all(w["total_p90"] is None or w["total_p90"] >= w["total_p50"] for w in weeks)
    assert sum(w["n"] for w in weeks) > 0
    reasons = {r["kode"] for r in panels["gagal_ganda"].rows}
    assert reasons == {"EFAC", "DUP"}
    failed = _count(history_db, select(func.count()).select_from(DomainEventRow)
                    .where(DomainEventRow.name == "enrollment.fail", DomainEventRow.at >= lo))
    assert sum(r["jumlah"] for r in panels["gagal_ganda"].rows if r["kode"] == "EFAC") == failed


def test_cached_days_give_the_same_answer_as_fresh_ones(history_db, now):
    first = service.view_office_dashboard(history_db, office_code="18.01", dari=None, sampai=None, now=now)[1]
    again = service.view_office_dashboard(history_db, office_code="18.01", dari=None, sampai=None, now=now)[1]
    assert first["panels"]["harian"].rows == again["panels"]["harian"].rows
    assert first["panels"]["waktu_layanan"].rows == again["panels"]["waktu_layanan"].rows


def test_pages_json_and_exports(history_db, settings, clock):
    app = create_app(settings=settings, side="office", db=history_db)
    c = client_for(app, Role.HEAD)
    page = c.get("/dasbor")
    assert page.status_code == 200
    assert "chart-backlog_blanko" in page.text and "Lihat tabel" in page.text and "chart-4.6.1.umd.min.js" in page.text
    body = c.get("/api/v1/dasbor").json()
    assert body["panels"]["backlog_blanko"]["chart"]["series"][1]["dash"]  # told apart by dash, not colour
    csv_resp = c.get("/dasbor/ekspor/harian.csv")
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Tanggal,Rekam") and len(lines) == len(body["panels"]["harian"]["rows"]) + 1
    xlsx = c.get("/dasbor/ekspor/waktu_layanan.xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws.max_row == len(body["panels"]["waktu_layanan"]["rows"]) + 1
    records = c.get("/dasbor/ekspor/rekaman.csv", params={"dari": "2011-01-01"})
    total = _count(history_db, select(func.count()).select_from(EnrollmentRow))
    assert len(records.content.decode("utf-8-sig").strip().splitlines()) == total + 1
    assert c.get("/dasbor/ekspor/tidak_ada.csv").status_code == 404
    assert c.get("/dasbor/ekspor/harian.exe").status_code == 404
    pdf = c.get("/dasbor/laporan-bulanan.pdf", params={"bulan": clock.today().strftime("%Y-%m")})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 5000
    assert c.get("/dasbor/laporan-bulanan.pdf", params={"bulan": "xx"}).content.startswith(b"%PDF")


def test_bad_ranges_give_sensible_pages(history_db, settings, clock):
    c = client_for(create_app(settings=settings, side="office", db=history_db), Role.SUPERVISOR)
    later, earlier = clock.today() - dt.timedelta(days=9), clock.today() - dt.timedelta(days=59)
    reversed_ = c.get("/dasbor", params={"dari": later.isoformat(), "sampai": earlier.isoformat()})
    assert reversed_.status_code == 200 and "ditukar" in reversed_.text
    absurd = c.get("/api/v1/dasbor", params={"dari": "0001-01-01", "sampai": "9999-12-31"}).json()
    assert absurd["period"]["notes"] and absurd["period"]["sampai"] <= clock.today().isoformat()
    assert c.get("/dasbor", params={"dari": "abc", "sampai": "%00"}).status_code == 200
    english = c.get("/dasbor", cookies={"lang": "en"})
    assert english.status_code == 200 and "Office dashboard" in english.text and "Show table" in english.text


def test_empty_office_shows_no_data_not_errors(db, settings):
    c = client_for(create_app(settings=settings, side="office", db=db), Role.HEAD)
    page = c.get("/dasbor")
    assert page.status_code == 200 and "Belum ada data" in page.text
    body = c.get("/api/v1/dasbor").json()
    assert body["backlog"] == 0
    assert c.get("/dasbor/ekspor/rekaman.xlsx").status_code == 200
    assert c.get("/dasbor/laporan-bulanan.pdf").content.startswith(b"%PDF")


def test_operators_may_not_open_the_dashboard(db, settings):
    c = client_for(create_app(settings=settings, side="office", db=db), Role.OPERATOR)
    assert c.get("/dasbor").status_code == 403
    assert c.get("/api/v1/dasbor").status_code == 403


def test_metrics_on_loopback_only(history_db, settings):
    app = create_app(settings=settings, side="office", db=history_db)
    text = client_for(app, Role.OPERATOR).get("/metrics").text
    waiting = _count(history_db, select(func.count()).select_from(CardRow)
                     .where(CardRow.state.in_(("PRINT_READY", "AUTHORISED"))))
    assert f"ktpel_print_ready_backlog {float(waiting)}" in text
    assert 'ktpel_enrollments{state="PRINT_READY"}' in text
    remote = client_for(create_app(settings=settings, side="office", db=history_db), Role.HEAD, host="10.1.2.3")
    assert remote.get("/metrics").status_code == 403


def test_todays_events_show_at_once_while_closed_days_come_from_the_cache(history_db, now):
    import datetime as dt

    from ktpel.store.schema.reports import ReportCacheRow

    def printed_today() -> int:
        data = service.view_office_dashboard(history_db, office_code="18.01", dari=None, sampai=None, now=now)[1]
        return next(r for r in data["panels"]["ringkasan"].rows if r["metrik"] == "printed")["hari_ini"]

    before = printed_today()
    with history_db.unit_of_work() as s:
        cached = s.scalar(select(func.count()).select_from(ReportCacheRow).where(ReportCacheRow.key.like("daily:%")))
        s.add(DomainEventRow(name="card.print", subject_id="card-x", data={}, at=now - dt.timedelta(minutes=1)))
    assert cached >= 50  # the closed days of the period were cached by the first view
    assert printed_today() == before + 1


def test_waiting_residents_move_to_the_class_recorded_at_the_counter(history_db, now):
    from sqlalchemy import insert

    from ktpel.reports.sources import table

    queue = table("print_queue", "card_id", "classes")
    with history_db.unit_of_work() as s:
        card = s.execute(select(CardRow.id, CardRow.resident_id).where(CardRow.state == "PRINT_READY").limit(1)).first()
        if card is None:  # every card printed: make one wait again so the class has someone to count
            card = s.execute(select(CardRow.id, CardRow.resident_id).limit(1)).first()
            s.execute(CardRow.__table__.update().where(CardRow.id == card[0]).values(state="PRINT_READY"))
        s.execute(insert(queue).values(card_id=card[0], resident_id=card[1], classes=["health"], marked_by="op"))
        waiting = s.scalar(select(func.count()).select_from(CardRow).where(CardRow.state.in_(("PRINT_READY", "AUTHORISED"))))
    rows = service.view_office_dashboard(history_db, office_code="18.01", dari=None, sampai=None,
                                         now=now)[1]["panels"]["menunggu"].rows
    by_class = {r["kelas"]: r["jumlah"] for r in rows}
    assert by_class["health"] == 1 and sum(by_class.values()) == waiting
