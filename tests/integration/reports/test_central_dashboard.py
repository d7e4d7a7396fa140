"""The central dashboard on an empty and a populated central database."""

import datetime as dt

from ktpel.security.access import Role
from ktpel.web.app import create_app

from .conftest import client_for


def test_empty_central_shows_every_panel_without_data(db, settings, clock):
    c = client_for(create_app(settings=settings, side="central", db=db), Role.CENTER_ADMIN)
    page = c.get("/dasbor-pusat")
    assert page.status_code == 200 and "Belum ada data" in page.text
    body = c.get("/api/v1/dasbor-pusat", params={"dari": clock.today().isoformat(),
                                                   "sampai": (clock.today() - dt.timedelta(days=300)).isoformat()}).json()
    assert set(body["panels"]) >= {"kabupaten", "throughput", "antrean_pipeline", "adjudikasi", "pasangan_ganda"}
    assert c.get("/dasbor-pusat/ekspor/kabupaten.csv").status_code == 200
    assert "ktpel_" in c.get("/metrics").text or c.get("/metrics").status_code == 200


def test_office_roles_may_not_open_the_central_dashboard(db, settings):
    c = client_for(create_app(settings=settings, side="central", db=db), Role.HEAD)
    assert c.get("/dasbor-pusat").status_code == 403


def test_central_history_fills_every_panel_with_database_numbers(db, settings):
    from sqlalchemy import func, select

    from ktpel.demo.central_history import write_central_history
    from ktpel.reports.sources import table

    written = write_central_history(db, weeks=2)
    assert written > 1000 and write_central_history(db, weeks=2) == 0  # idempotent
    c = client_for(create_app(settings=settings, side="central", db=db), Role.AUDITOR)
    body = c.get("/api/v1/dasbor-pusat").json()
    for name in ("kabupaten", "throughput", "latensi_tahap", "adjudikasi", "pasangan_ganda"):
        assert body["panels"][name]["rows"], name
    records = table("central_records")
    reports = table("printed_reports")
    with db.unit_of_work() as s:
        received = dict(s.execute(select(records.c.office_code, func.count()).group_by(records.c.office_code)).all())
        printed = dict(s.execute(select(reports.c.office_code, func.count()).group_by(reports.c.office_code)).all())
        waiting = s.scalar(select(func.count()).select_from(table("central_adjudications"))
                           .where(table("central_adjudications").c.decided_at.is_(None)))
    rows = {r["kode"]: r for r in body["panels"]["kabupaten"]["rows"]}
    assert {k: r["diterima"] for k, r in rows.items()} == received
    assert all(rows[k]["dicetak"] == n for k, n in printed.items())
    assert all(r["blanko"] is not None and r["backlog"] >= 0 for r in rows.values())
    assert sum(r["jumlah"] for r in body["panels"]["adjudikasi"]["rows"]) == waiting
    page = c.get("/dasbor-pusat")
    assert page.status_code == 200 and "chart-kabupaten" in page.text and "Kabupaten Lampung Selatan" in page.text
    xlsx = c.get("/dasbor-pusat/ekspor/kabupaten.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    metrics = c.get("/metrics").text
    assert f"ktpel_adjudication_backlog {float(waiting)}" in metrics and "ktpel_pipeline_oldest_seconds" in metrics


def test_ikd_per_regency_and_the_national_blanks_saved_beside_the_blank_stock(db, settings, clock):
    from sqlalchemy import func, select

    from ktpel.demo.central_history import write_ikd_history
    from ktpel.reports.sources import table

    written = write_ikd_history(db, own_office="18.01", weeks=2)
    assert written > 50 and write_ikd_history(db, own_office="18.01", weeks=2) == 0  # idempotent
    ikd = table("central_ikd")
    week_ago = clock.today() - dt.timedelta(days=6)
    lo = dt.datetime.combine(week_ago, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with db.unit_of_work() as s:
        expected = dict(s.execute(select(ikd.c.office_code, func.count()).where(ikd.c.activated_at >= lo)
                                  .group_by(ikd.c.office_code)).all())
        saved = s.scalar(select(func.count()).select_from(ikd).where(ikd.c.activated_at >= lo,
                                                                      ikd.c.saves_blank.is_(True)))
    assert "18.01" not in expected and saved > 0  # the demo office's own come through sync
    c = client_for(create_app(settings=settings, side="central", db=db), Role.CENTER_ADMIN)
    body = c.get("/api/v1/dasbor-pusat", params={"dari": week_ago.isoformat()}).json()
    assert {r["kode"]: r["ikd_aktif"] for r in body["panels"]["ikd"]["rows"]} == expected
    assert body["ikd"]["ikd_aktif"] == sum(expected.values()) and body["ikd"]["blanko_dihemat"] == saved
    assert f"{saved} blanko dihemat" in body["panels"]["ikd"]["note_id"]
    page = c.get("/dasbor-pusat", params={"dari": week_ago.isoformat()})
    assert f'id="headline-national-saved">{saved}<' in page.text and "chart-ikd" in page.text
    csv = c.get("/dasbor-pusat/ekspor/ikd.csv", params={"dari": week_ago.isoformat()}).text
    assert "Blanko dihemat" in csv and csv.count("\n") == len(expected) + 1
