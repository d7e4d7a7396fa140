"""The central dashboard on an empty and a populated central database."""

from ktpel.security.access import Role
from ktpel.web.app import create_app

from .conftest import client_for


def test_empty_central_shows_every_panel_without_data(db, settings):
    c = client_for(create_app(settings=settings, side="central", db=db), Role.CENTER_ADMIN)
    page = c.get("/dasbor-pusat")
    assert page.status_code == 200 and "Belum ada data" in page.text
    body = c.get("/api/v1/dasbor-pusat", params={"dari": "2026-12-01", "sampai": "2026-01-01"}).json()
    assert set(body["panels"]) >= {"kabupaten", "throughput", "antrean_pipeline", "adjudikasi", "pasangan_ganda"}
    assert c.get("/dasbor-pusat/ekspor/kabupaten.csv").status_code == 200
    assert "ktpel_" in c.get("/metrics").text or c.get("/metrics").status_code == 200


def test_office_roles_may_not_open_the_central_dashboard(db, settings):
    c = client_for(create_app(settings=settings, side="central", db=db), Role.HEAD)
    assert c.get("/dasbor-pusat").status_code == 403
