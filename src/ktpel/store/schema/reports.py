"""Report cache: figures of days and weeks that are over, so dashboards never rescan a year of history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.schema.core import CardRow
from ktpel.store.types import UtcDateTime


class ReportCacheRow(Base):
    """One computed figure set, e.g. `daily:18.01:2026-11-20` or `turnaround:18.01:2026-11-16`."""

    __tablename__ = "report_cache"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


# Turnaround per week reads cards by hand-over time: an index on the core table, owned and migrated here.
Index("ix_reports_cards_issued_at", CardRow.issued_at)
