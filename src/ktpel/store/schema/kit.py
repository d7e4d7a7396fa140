"""Home office: packets received from mobile recording kits, once each (the kit may send twice)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import UtcDateTime


class KitReceiptRow(Base):
    __tablename__ = "kit_receipts"

    kit_packet_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kit_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    home_packet_id: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
