"""Builders for the field capabilities (Suket, IKD): residents at each stage, via the printing builder."""

from __future__ import annotations

import pytest

from tests.integration.printing.conftest import Office, pdf_content  # noqa: F401


@pytest.fixture
def office(db, settings) -> Office:
    return Office(db, settings)


@pytest.fixture
def other_db(backend, tmp_path, _templates, settings):
    """A second, empty, migrated database of the same backend (another office's ledger)."""
    import shutil
    import uuid

    from ktpel.store.db import open_database
    from tests.conftest import PG_URL, _make_settings, _pg_admin

    if backend == "sqlite":
        target = tmp_path / "other.db"
        shutil.copyfile(_templates.sqlite, target)
        url = f"sqlite:///{target}"
    else:
        name = "ktpel_o_" + uuid.uuid4().hex[:10]
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates.pg_template}"')
        url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    database = open_database(_make_settings(tmp_path, url, settings.shared_data), migrate=False)
    yield database
    database.dispose()
    if backend != "sqlite":
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def live_server():
    """A real HTTP server for an app (the e2e helper, without a browser)."""
    from tests.e2e.conftest import LiveServer

    servers = []

    def start(app):
        srv = LiveServer(app).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()
