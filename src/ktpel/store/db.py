"""Opening a database (SQLite file or PostgreSQL), migrating it, and the unit of work."""

from __future__ import annotations

import contextlib

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ktpel.config import Settings
from ktpel.store.fields import FieldCipher, FieldKeyring, configure_cipher


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit when the block ends normally, roll back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # connections are cheap here and every request thread (AnyIO's 40) may hold one: a pool smaller than
        # the thread pool turns a burst (50 operators signing in) into 30 s waits and pool-timeout errors
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=10, max_overflow=40)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args = {"cursor_factory": _binary_results_cursor()} if url.startswith("postgresql+psycopg://") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args)


def _binary_results_cursor() -> type:
    """psycopg cursors that ask PostgreSQL for results in binary format. Every encrypted column is a bytea, which
    the text format sends as hex: twice the bytes, encoded by the server and decoded by the client (reading a
    packet's 2 MB took 17 ms that way, 2 ms in binary)."""
    import psycopg
    from psycopg.pq import Format

    class BinaryResultsCursor(psycopg.Cursor):
        def __init__(self, connection, *, row_factory=None) -> None:  # noqa: ANN001
            super().__init__(connection, row_factory=row_factory)
            self.format = Format.BINARY

    return BinaryResultsCursor


def open_database(settings: Settings, *, name: str = "office", migrate: bool = True) -> Database:
    """Open the database of one side (office or central), set up field encryption, migrate it to that
    side's tables (every table where `settings.shared_database`: one database for both sides)."""
    keyring = FieldKeyring.load_or_create(settings.data_dir / "keys" / "field.keys")
    configure_cipher(FieldCipher(keyring))
    url = settings.resolved_database_url(name=name)
    engine = make_engine(url)
    db = Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), url=url)
    if migrate:
        upgrade(db, side=None if settings.shared_database else name)
    return db


def alembic_config(db: Database):  # noqa: ANN201
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


# the revision after which a database holds one side's tables only (ktpel.store.sides)
SPLIT_REVISIONS = {"office": "office_split_0001", "central": "central_split_0001"}


def side_heads(script, *, side: str | None) -> tuple[str, ...]:  # noqa: ANN001
    """The revisions a database of `side` migrates to: the newest of every revision not built on the
    other side's split revision (side None: a database of both sides, built on neither split)."""
    excluded = set(SPLIT_REVISIONS.values()) if side is None else \
        {rev for s, rev in SPLIT_REVISIONS.items() if s != side}
    ancestry = {r.revision: _ancestry(script, r.revision) for r in script.walk_revisions()}
    wanted = {rev for rev, above in ancestry.items() if not above & excluded}
    # only the newest: a revision another wanted one stands on is reached through it
    below = set().union(*(ancestry[rev] - {rev} for rev in wanted))
    return tuple(sorted(wanted - below))


def _ancestry(script, revision: str) -> set[str]:  # noqa: ANN001
    """`revision` and everything it stands on (down revisions and depends_on)."""
    seen: set[str] = set()
    todo = [revision]
    while todo:
        rev = script.get_revision(todo.pop())
        if rev.revision in seen:
            continue
        seen.add(rev.revision)
        for parents in (rev.down_revision, rev.dependencies):
            todo += [parents] if isinstance(parents, str) else list(parents or ())
    return seen


@contextlib.contextmanager
def _ddl_in_transaction(connection):  # noqa: ANN001, ANN202
    """On SQLite, make CREATE/DROP part of the migration's transaction.

    Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE, so DDL ran in autocommit: a run
    that failed half-way (e.g. a side split refused) kept the tables it had created, and the next run
    failed on them. Here the transaction is begun explicitly, so a failed run leaves nothing behind."""
    raw = connection.connection.driver_connection if connection.dialect.name == "sqlite" else None
    if raw is None:
        yield
        return
    level = raw.isolation_level
    raw.isolation_level = None  # no implicit transactions: ours, begun below, holds everything
    try:
        connection.exec_driver_sql("BEGIN")
        yield
    finally:
        raw.isolation_level = level


def upgrade(db: Database, *, side: str | None = None, revision: str | None = None) -> None:
    """Bring the schema to `revision`, or to the newest revision of every migration branch that a
    database of `side` runs (None: both sides' tables, as the test suite's databases)."""
    from alembic import command
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(db)
    with db.engine.connect() as connection, connection.begin(), _ddl_in_transaction(connection):
        cfg.attributes["connection"] = connection
        cfg.attributes["side"] = side  # migrations after the split ask it (store.sides.migration_holds)
        if revision is not None:
            command.upgrade(cfg, revision)
            return
        script = ScriptDirectory.from_config(cfg)
        heads = side_heads(script, side=side)
        # one run to all those heads at once, as `alembic upgrade heads` does for every head
        with EnvironmentContext(cfg, script, fn=lambda rev, _context: script._upgrade_revs(heads, rev),
                                destination_rev=heads):
            script.run_env()
