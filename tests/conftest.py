"""Fixtures shared by every test: reference data, settings, and a fresh database per backend.

Storage tests take the `db` fixture, which runs each test on SQLite and on PostgreSQL
(KTPEL_TEST_PG_URL, set by scripts/test.sh). In CI a missing PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

pytest_plugins = ["tests.auth_fixtures"]

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import pytest

from ktpel.config import Settings, find_shared_data
from ktpel.domain import clock as _clock

# the suite's databases serve both sides at once (one URL for office and central): every table stays.
# tests/integration/test_database_sides.py opens each side's own database to check the split.
os.environ.setdefault("KTPEL_SHARED_DATABASE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = find_shared_data() or (REPO.parent / "shared" / "data")
PG_URL = os.environ.get("KTPEL_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"]


# -- the test clock ------------------------------------------------------------------------------
# Every test runs on ktpel's one clock (ktpel.domain.clock), never beside the wall clock. It reads the
# real time by default; KTPEL_TEST_NOW (an ISO 8601 instant with its zone, e.g. 2028-02-29T10:00+07:00,
# or "+365d") moves the whole run, child processes included, to another day: tests/unit/test_clock.py
# runs the time-sensitive tests that way to prove they pass on any day.


def session_now() -> dt.datetime:
    raw = os.environ.get("KTPEL_TEST_NOW", "").strip()
    real = dt.datetime.now(dt.timezone.utc)  # the one place the suite reads the wall clock
    if not raw:
        return real
    if raw[0] in "+-" and raw.endswith("d"):
        return real + dt.timedelta(days=float(raw[:-1]))
    at = dt.datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise pytest.UsageError("KTPEL_TEST_NOW needs a time zone, e.g. 2028-02-29T10:00+07:00")
    return at


class TestClock:
    """What a test sees of the clock: read it, and move it (children follow through the environment)."""

    def now(self) -> dt.datetime:
        return _clock.now()

    def today(self) -> dt.date:
        return _clock.today_wib()

    def wib(self, hour: int, minute: int = 0, *, days: int = 0) -> dt.datetime:
        """Today (WIB) + `days` at hour:minute WIB, as an aware UTC instant."""
        day = self.today() + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=_clock.WIB).astimezone(dt.timezone.utc)

    def freeze(self, at: dt.datetime) -> dt.datetime:
        _clock.freeze(at=at)
        self._publish()
        return at

    def travel(self, to: dt.datetime) -> dt.datetime:
        _clock.travel(to=to)
        self._publish()
        return to

    def advance(self, delta: dt.timedelta) -> None:
        _clock.advance(delta)
        self._publish()

    @staticmethod
    def _publish() -> None:
        os.environ["KTPEL_CLOCK_OFFSET_S"] = repr(_clock.offset_seconds())


@pytest.fixture(scope="session", autouse=True)
def _session_clock():
    _clock.travel(to=session_now())
    offset = _clock.offset_seconds()
    os.environ["KTPEL_CLOCK_OFFSET_S"] = repr(offset)
    yield offset
    _clock.reset()
    os.environ.pop("KTPEL_CLOCK_OFFSET_S", None)


@pytest.fixture(autouse=True)
def clock(_session_clock) -> TestClock:
    """The test's clock; whatever a test does to it is undone after the test."""
    yield TestClock()
    _clock.shift(seconds=_session_clock)
    os.environ["KTPEL_CLOCK_OFFSET_S"] = repr(_session_clock)


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
