"""Writing figures into `report_cache`: an upsert, so two dashboards opened at once never collide."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ktpel.store.schema.reports import ReportCacheRow


def store(session: Session, rows: list[tuple[str, dict]], *, now: dt.datetime) -> None:
    """Insert or replace cached figures by key (INSERT … ON CONFLICT DO UPDATE on both backends)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = [{"key": k, "payload": p, "computed_at": now} for k, p in rows]
    stmt = insert(ReportCacheRow).values(values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[ReportCacheRow.key],
        set_={"payload": stmt.excluded.payload, "computed_at": stmt.excluded.computed_at},
    ))
