"""Opening a database (SQLite file or PostgreSQL), migrating it, and the unit of work."""

from __future__ import annotations

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
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def open_database(settings: Settings, *, name: str = "office", migrate: bool = True) -> Database:
    """Open the database of one side (office or central), set up field encryption, migrate to head."""
    keyring = FieldKeyring.load_or_create(settings.data_dir / "keys" / "field.keys")
    configure_cipher(FieldCipher(keyring))
    url = settings.resolved_database_url(name=name)
    engine = make_engine(url)
    db = Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), url=url)
    if migrate:
        upgrade(db)
    return db


def alembic_config(db: Database):  # noqa: ANN201
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, *, revision: str = "heads") -> None:
    """Bring the schema to the newest revision of every capability's migration branch."""
    from alembic import command

    cfg = alembic_config(db)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
