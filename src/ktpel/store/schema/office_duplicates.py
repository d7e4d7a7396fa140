"""The office's copy of the data-ganda cases central announced about its residents."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedText, UtcDateTime


class OfficeDuplicateCaseRow(Base):
    """Office side: a data-ganda case concerning this office's resident, as central announced it."""

    __tablename__ = "office_duplicate_cases"

    case_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    records: Mapped[str] = mapped_column(EncryptedText)  # JSON list of both records' summaries
    status: Mapped[str] = mapped_column(String(12), index=True)  # open | chosen | closed
    chosen_record_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    chosen_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    packet_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
