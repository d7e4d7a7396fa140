"""Office: the latest central outcome of each enrollment, with the officers' code (PRR, RV, DUP-1:N, EFAR …)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import UtcDateTime


class EnrollmentOutcomeRow(Base):
    __tablename__ = "enrollment_outcomes"

    enrollment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
