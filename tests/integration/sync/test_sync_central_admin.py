"""Central's admin page and CLI: announcing maintenance reaches every registered office as an event."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from ktpel.domain.clock import WIB
from ktpel.security.access import Role
from ktpel.store.schema.sync import AnnouncementRow, CentralEventRow
from tests.auth_fixtures import authed_client


def _wib_minute(clock, *, days: int, hour: int) -> str:
    """A datetime-local value in WIB, as the form sends it."""
    return clock.wib(hour, days=days).astimezone(WIB).strftime("%Y-%m-%dT%H:%M")


def test_center_admin_announces_maintenance_from_the_page(linked, central_db, central_client, clock):
    app = central_client.app
    admin = authed_client(app, central_db, Role.CENTER_ADMIN)
    page = admin.get("/pusat/sinkron")
    assert page.status_code == 200 and "18.01" in page.text
    r = admin.post("/pusat/sinkron/pengumuman", data={"csrf_token": admin.csrf, "mulai": _wib_minute(clock, days=1, hour=22),
                                                      "selesai": _wib_minute(clock, days=2, hour=4),
                                                      "pesan": "Migrasi server"},
                   follow_redirects=False)
    assert r.status_code == 303
    with central_db.unit_of_work() as s:
        ev = s.scalar(select(CentralEventRow).where(CentralEventRow.kind == "announcement"))
        assert ev.office_code == "18.01"
        assert json.loads(ev.data)["starts_at"] == _wib_minute(clock, days=1, hour=22) + ":00+07:00"
    bad = admin.post("/pusat/sinkron/pengumuman", data={"csrf_token": admin.csrf, "mulai": _wib_minute(clock, days=1, hour=22),
                                                        "selesai": _wib_minute(clock, days=1, hour=21), "pesan": "x"})
    assert bad.status_code == 422 and "Waktu selesai harus setelah waktu mulai" in bad.text
    adjudicator = authed_client(app, central_db, Role.ADJUDICATOR)
    assert adjudicator.get("/pusat/sinkron").status_code == 403


def test_cli_keys_init_and_central_announce(linked, central_settings, central_db, monkeypatch, tmp_path, clock):
    from ktpel import config
    from ktpel.cli import app

    monkeypatch.setenv("KTPEL_DATA_DIR", str(central_settings.data_dir))
    monkeypatch.setenv("KTPEL_DATABASE_URL", central_settings.database_url)
    config.get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["keys", "show", "--side", "central"])
        assert r.exit_code == 0 and json.loads(r.stdout)["side"] == "central"
        r = runner.invoke(app, ["central", "announce", "--start", _wib_minute(clock, days=1, hour=22),
                                "--end", _wib_minute(clock, days=2, hour=2),
                                "--message", "Pemeliharaan jaringan"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["central", "announce", "--start", "kemarin", "--message", "x"])
        assert r.exit_code == 2
    finally:
        config.get_settings.cache_clear()
    with central_db.unit_of_work() as s:
        assert [a.message_id for a in s.scalars(select(AnnouncementRow))] == ["Pemeliharaan jaringan"]
