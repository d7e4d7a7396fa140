"""Where each figure comes from: SQL helpers that work on SQLite and PostgreSQL, and the optional tables.

Other capabilities own the blank ledger, the outbox and outage log, and central's pipeline tables.
They are looked up by name in the shared metadata at call time, so a panel whose table has not landed
(or a database that predates it) shows "belum ada data" instead of failing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Table, func, literal_column
from sqlalchemy.orm import Session

from ktpel.store.schema.base import metadata


def table(name: str, *columns: str) -> Table | None:
    """A table of another capability if it is defined and has the columns we read, else None."""
    found = metadata.tables.get(name)
    if found is None or any(c not in found.c for c in columns):
        return None
    return found


def table_like(fragment: str, *columns: str) -> Table | None:
    """The first table whose name holds `fragment` and has `columns` (e.g. the blank ledger)."""
    for name in sorted(metadata.tables):
        if fragment in name:
            found = table(name, *columns)
            if found is not None:
                return found
    return None


def local_day(session: Session, column: Column):  # noqa: ANN201
    """SQL expression for the WIB calendar day of a UTC timestamp column.

    Literal arguments, not bound parameters: PostgreSQL must see the GROUP BY and SELECT expressions as
    the same expression.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, literal_column("'+7 hours'"))
    return func.date(func.timezone(literal_column("'Asia/Jakarta'"), column))


def as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
