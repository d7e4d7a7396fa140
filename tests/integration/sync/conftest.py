"""Two sides for sync tests: the office database (the `db` fixture) and a central database beside it."""

from __future__ import annotations

import shutil
import uuid

import pytest

from ktpel.config import Settings
from tests.conftest import PG_URL, _pg_admin


@pytest.fixture
def central_settings(settings, backend, tmp_path, _templates) -> Settings:
    """Central's settings: its own data dir (keys) and its own fresh, migrated database."""
    data = tmp_path / "central"
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "field.keys").write_text(_templates.keyring().dumps())
    if backend == "sqlite":
        target = tmp_path / "central.db"
        shutil.copyfile(_templates.sqlite, target)
        url = f"sqlite:///{target}"
    else:
        name = "ktpel_c_" + uuid.uuid4().hex[:10]
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates.pg_template}"')
        url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    return Settings(data_dir=data, database_url=url, shared_data=settings.shared_data,
                    office_regency=settings.office_regency, sync_backoff_base_s=0.01, sync_backoff_max_s=0.05)


@pytest.fixture
def central_db(central_settings):
    from ktpel.store.db import open_database

    database = open_database(central_settings, migrate=False)
    yield database
    database.dispose()
    if not database.is_sqlite:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database.url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture
def office_settings(settings) -> Settings:
    return settings.model_copy(update={"sync_backoff_base_s": 0.01, "sync_backoff_max_s": 0.05,
                                       "sync_catchup_rate": 0.0})


@pytest.fixture
def linked(office_settings, central_settings, db, central_db):
    """Keys on both sides and the office registered with central (as the demo does, without HTTP)."""
    from ktpel.keys.keyring import init_keys
    from ktpel.central.sync.service import register_locally

    init_keys(office_settings, side="office")
    init_keys(central_settings, side="central")
    register_locally(office_settings=office_settings, central_settings=central_settings, central_db=central_db)
    return office_settings, central_settings


@pytest.fixture
def central_client(linked, central_settings, central_db):
    """An httpx client wired straight into central's ASGI app (real HTTP semantics, no socket)."""
    from fastapi.testclient import TestClient

    from ktpel.web.app import create_app

    class CookielessClient(TestClient):
        # offices are machines authenticated by signatures: they never hold a session cookie
        def request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            self.cookies.clear()
            return super().request(*args, **kwargs)

    app = create_app(settings=central_settings, side="central", db=central_db)
    with CookielessClient(app, base_url="http://central.test") as client:
        yield client
