"""Fixtures shared by every test: reference data, settings, and a fresh database per backend.

Storage tests take the `db` fixture, which runs each test on SQLite and on PostgreSQL
(KTPEL_TEST_PG_URL, set by scripts/test.sh). In CI a missing PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

pytest_plugins = ["tests.auth_fixtures"]

import os
import shutil
import uuid
from pathlib import Path

import pytest

from ktpel.config import Settings, find_shared_data

REPO = Path(__file__).resolve().parents[1]
SHARED = find_shared_data() or (REPO.parent / "shared" / "data")
PG_URL = os.environ.get("KTPEL_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "wilayah" / "wilayah.csv").is_file():
        pytest.skip("../shared/data is absent: reference data tests need it (CI always has it)")
    return SHARED


@pytest.fixture(scope="session")
def regions(shared_data):
    from ktpel.reference import regions as load

    return load(shared_data)


@pytest.fixture(scope="session")
def names(shared_data):
    from ktpel.reference import names as load

    return load(shared_data)


class _Templates:
    """A migrated template per backend, copied for each test (much faster than migrating each time)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sqlite: Path | None = None
        self.pg_template: str | None = None
        self.keys = None

    def keyring(self):
        from ktpel.store.fields import FieldKeyring

        if self.keys is None:
            self.keys = FieldKeyring.generate()
        return self.keys


@pytest.fixture(scope="session")
def _templates(tmp_path_factory) -> _Templates:
    return _Templates(tmp_path_factory.mktemp("db-templates"))


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_URL, autocommit=True)


def _make_settings(tmp_path: Path, url: str, shared: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=url, shared_data=shared)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgresql" and not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("KTPEL_TEST_PG_URL is not set in CI: run the suite through scripts/test.sh")
        pytest.skip("PostgreSQL not available: run scripts/test.sh to test on it")
    return request.param


@pytest.fixture
def settings(backend, tmp_path, _templates, shared_data) -> Settings:
    """Settings pointing at a fresh, migrated database of the backend under test."""
    from ktpel.store.db import open_database

    keyfile = tmp_path / "data" / "keys" / "field.keys"
    keyfile.parent.mkdir(parents=True)
    keyfile.write_text(_templates.keyring().dumps())
    if backend == "sqlite":
        if _templates.sqlite is None:
            path = _templates.tmp / "template.db"
            open_database(_make_settings(tmp_path, f"sqlite:///{path}", shared_data)).dispose()
            _templates.sqlite = path
        target = tmp_path / "test.db"
        shutil.copyfile(_templates.sqlite, target)
        return _make_settings(tmp_path, f"sqlite:///{target}", shared_data)
    base = PG_URL.rsplit("/", 1)[0]
    if _templates.pg_template is None:
        name = "ktpel_tpl_" + uuid.uuid4().hex[:8]
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        open_database(_make_settings(tmp_path, f"{base}/{name}", shared_data)).dispose()
        _templates.pg_template = name
    name = "ktpel_t_" + uuid.uuid4().hex[:10]
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates.pg_template}"')
    return _make_settings(tmp_path, f"{base}/{name}", shared_data)


@pytest.fixture
def db(settings):
    from ktpel.store.db import open_database

    database = open_database(settings, migrate=False)
    yield database
    database.dispose()
    if not database.is_sqlite:
        name = database.url.rsplit("/", 1)[1]
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
