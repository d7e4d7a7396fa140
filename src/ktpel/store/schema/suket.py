"""Suket tables: the office's register of temporary certificates, and central's national log of them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedText, UtcDateTime


class SuketRow(Base):
    """One Suket issued at this office, from issue to revocation or to the printed card."""

    __tablename__ = "suket"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    # equals resident_id while ACTIVE, NULL after: unique, so two active Suket for one resident cannot exist
    active_resident_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    enrollment_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), index=True)
    status_code: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(24))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date, index=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    # the signed token's payload (base64, not secret) holds NIK, name, birth date and address
    token: Mapped[str] = mapped_column(EncryptedText)
    issued_by: Mapped[str] = mapped_column(String(60))
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    closed_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)  # typed when revoking: free text
    card_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class CentralSuketRow(Base):
    """Central: the national log of Suket, one row per serial, kept current by `suket.report` packets."""

    __tablename__ = "central_suket"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    status_code: Mapped[str] = mapped_column(String(4))
    valid_until: Mapped[dt.date] = mapped_column(Date)
    officer: Mapped[str] = mapped_column(String(60))
    last_action: Mapped[str] = mapped_column(String(12))
    last_packet_id: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
