"""The office and central dashboards in a real browser: charts drawn, numbers equal to the database, downloads."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from ktpel.domain.clock import today_wib
from ktpel.security.access import Role, User


def _signed_in(app, role: Role):
    @app.middleware("http")
    async def as_user(request, call_next):  # stands in for a signed-in session
        request.state.user = User(id=1, username=role.value, role=role, regency_code="18.01")
        return await call_next(request)

    return app


@pytest.fixture
def office(db, settings, regions, names):
    from ktpel.demo.office_history import write_history
    from ktpel.seeding.service import seed_district
    from ktpel.web.app import create_app

    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=700, seed=4,
                  today=today_wib())
    write_history(db, office_code="18.01", weeks=3)
    return _signed_in(create_app(settings=settings, side="office", db=db), Role.HEAD)


def test_office_dashboard_charts_numbers_and_downloads(office, db, page, live_server, tmp_path):
    from ktpel.store.schema.core import CardRow

    srv = live_server(office)
    page.goto(srv.url + "/dasbor")
    page.wait_for_selector("body[data-charts-ready]", state="attached")
    assert int(page.get_attribute("body", "data-charts-ready")) >= 6
    with db.unit_of_work() as s:
        waiting = s.scalar(select(func.count()).select_from(CardRow)
                           .where(CardRow.state.in_(("PRINT_READY", "AUTHORISED"))))
    assert page.inner_text("#headline-backlog").strip() == str(waiting)
    # every chart has data points, drawn by Chart.js from the same rows as the table
    points = page.evaluate("Object.fromEntries(Object.entries(window.ktpelCharts).map("
                           "([k, c]) => [k, c.data.datasets.reduce((n, d) => n + d.data.filter(v => v).length, 0)]))")
    for chart in ("backlog_blanko", "waktu_layanan", "gagal_ganda", "harian", "jangkauan_pusat"):
        assert points[chart] > 0, chart
    assert (points["menunggu"] > 0) == (waiting > 0)
    # IKD activated in the period (the history's residents who took a digital ID while waiting): panel and headline
    from ktpel.reports.period import day_start_utc
    from ktpel.store.schema.ikd import IkdActivationRow

    first = dt.date.fromisoformat(page.input_value("input[name=dari]"))
    with db.unit_of_work() as s:
        activated = s.scalar(select(func.count()).select_from(IkdActivationRow)
                             .where(IkdActivationRow.activated_at >= day_start_utc(first)))
        saved = s.scalar(select(func.count()).select_from(IkdActivationRow)
                         .where(IkdActivationRow.activated_at >= day_start_utc(first), IkdActivationRow.saves_blank))
    assert activated > 0 and saved > 0 and points["ikd_blanko"] > 0
    assert page.inner_text("#panel-ikd_blanko h2").strip() == "IKD diaktifkan (blanko dihemat)"
    assert page.inner_text("#headline-ikd").strip() == f"{activated} ({saved})"
    # the table behind a chart is one click away
    page.click("#panel-harian summary")
    assert page.is_visible("table[data-table=harian]")
    for selector, suffix, magic in (("#panel-harian a[href*='.csv']", ".csv", b"\xef\xbb\xbfTanggal"),
                                    ("#records-xlsx", ".xlsx", b"PK"), ("#monthly-pdf", ".pdf", b"%PDF")):
        with page.expect_download() as info:
            page.click(selector)
        target = tmp_path / ("download" + suffix)
        info.value.save_as(target)
        assert target.read_bytes().startswith(magic), selector


def test_central_dashboard_charts_match_the_database(db, settings, page, live_server, tmp_path):
    from ktpel.demo.central_history import write_central_history
    from ktpel.reports.sources import table
    from ktpel.web.app import create_app

    write_central_history(db, weeks=2)
    srv = live_server(_signed_in(create_app(settings=settings, side="central", db=db), Role.CENTER_ADMIN))
    page.goto(srv.url + "/dasbor-pusat")
    page.wait_for_selector("body[data-charts-ready]", state="attached")
    assert int(page.get_attribute("body", "data-charts-ready")) >= 5
    records = table("central_records")
    with db.unit_of_work() as s:
        received = s.scalar(select(func.count()).select_from(records).where(records.c.office_code == "18.01"))
    page.click("#panel-kabupaten summary")
    cell = page.locator("table[data-table=kabupaten] tr", has_text="Lampung Selatan").locator("td[data-key=diterima]")
    assert cell.inner_text().strip() == str(received)
    with page.expect_download() as info:
        page.click("#panel-kabupaten a[href*='.csv']")
    info.value.save_as(tmp_path / "kabupaten.csv")
    assert "Lampung Selatan" in (tmp_path / "kabupaten.csv").read_text(encoding="utf-8-sig")
