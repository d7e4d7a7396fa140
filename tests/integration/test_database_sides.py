"""Each side's database holds only its own and the shared tables (ktpel.store.sides), on both backends.

The rest of the suite opens one database for both sides (`KTPEL_SHARED_DATABASE`, tests/conftest.py);
these tests open a database per side, as an office and central do in production.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect, text

from ktpel.config import Settings
from ktpel.store.db import open_database, upgrade
from ktpel.store.schema import metadata
from ktpel.store.sides import CENTRAL_TABLES, OFFICE_TABLES, SHARED_TABLES, OtherSideData, tables_of
from tests.conftest import PG_URL, _pg_admin


@pytest.fixture
def new_url(backend, tmp_path):
    """A factory of empty databases of the backend under test (dropped afterwards on PostgreSQL)."""
    made: list[str] = []

    def make(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        db_name = f"ktpel_side_{name}_{uuid.uuid4().hex[:8]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        made.append(db_name)
        return f"{PG_URL.rsplit('/', 1)[0]}/{db_name}"

    yield make
    if made:
        with _pg_admin() as conn:
            for db_name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _tables(db) -> set[str]:  # noqa: ANN001
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _settings(tmp_path, url: str, *, shared: bool) -> Settings:  # noqa: ANN001
    return Settings(data_dir=tmp_path / "data", database_url=url, shared_database=shared)


def test_every_table_belongs_to_exactly_one_side_set():
    office, central, shared = OFFICE_TABLES, CENTRAL_TABLES, SHARED_TABLES
    assert not (office & central) and not (office & shared) and not (central & shared)
    unplaced = set(metadata.tables) - (office | central | shared)
    assert not unplaced, f"add these tables to ktpel.store.sides: {sorted(unplaced)}"
    assert not (office | central | shared) - set(metadata.tables)


@pytest.mark.parametrize("side", ["office", "central"])
def test_a_side_database_has_its_own_and_the_shared_tables_only(side, new_url, tmp_path):
    db = open_database(_settings(tmp_path, new_url(side), shared=False), name=side)
    try:
        tables = _tables(db)
        assert tables == tables_of(side)
        if side == "office":
            assert {"residents", "sync_outbox", "users"} <= tables and "central_jobs" not in tables
        else:
            assert {"central_jobs", "central_packets", "users"} <= tables and "enrollments" not in tables
        db.dispose()
        db = open_database(_settings(tmp_path, db.url, shared=False), name=side)  # opening again changes nothing
        assert _tables(db) == tables_of(side)
    finally:
        db.dispose()


def test_a_database_of_both_sides_keeps_every_table(new_url, tmp_path):
    db = open_database(_settings(tmp_path, new_url("both"), shared=True), name="office")
    try:
        assert _tables(db) == set(metadata.tables)
    finally:
        db.dispose()


def test_an_existing_database_splits_only_when_the_other_side_tables_are_empty(new_url, tmp_path, clock):
    url = new_url("old")
    # as every database was before the split: both sides' tables, at the merge revision
    old = open_database(_settings(tmp_path, url, shared=True), name="office", migrate=False)
    upgrade(old, revision="sides_0001")
    before = _tables(old)
    assert before == set(metadata.tables) - {"central_ikd", "audit_pending"}  # tables newer than the split
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO central_counters (name, value) VALUES ('gallery', 7)"))
        conn.execute(text("INSERT INTO printing_settings (key, value, changed_by, changed_at) "
                          "VALUES ('policy', '{}', 'kadis', :at)"), {"at": clock.now()})
    old.dispose()

    with pytest.raises(OtherSideData) as refused:
        open_database(_settings(tmp_path, url, shared=False), name="office")
    assert refused.value.table == "central_counters" and "central_counters" in str(refused.value)
    check = open_database(_settings(tmp_path, url, shared=True), name="office", migrate=False)
    try:
        assert _tables(check) == before  # refused: nothing dropped, nothing half
        with check.engine.begin() as conn:
            conn.execute(text("DELETE FROM central_counters"))
    finally:
        check.dispose()

    db = open_database(_settings(tmp_path, url, shared=False), name="office")
    try:
        assert _tables(db) == tables_of("office")
        with db.engine.connect() as conn:  # the office's own rows are kept
            assert conn.execute(text("SELECT changed_by FROM printing_settings")).scalar() == "kadis"
    finally:
        db.dispose()
