"""Central: blank loans between regencies of one province, from acceptance to the serials shipped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import UtcDateTime


class BlankLoanRow(Base):
    __tablename__ = "blank_loans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    lender_code: Mapped[str] = mapped_column(String(5), index=True)
    borrower_code: Mapped[str] = mapped_column(String(5), index=True)
    count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), index=True)
    serials: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_by: Mapped[str] = mapped_column(String(60))
    accepted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    shipped_packet_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
