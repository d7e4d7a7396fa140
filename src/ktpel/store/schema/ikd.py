"""IKD (Identitas Kependudukan Digital) activations at the office counter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedText, UtcDateTime


class IkdActivationRow(Base):
    """One activation attempt: contact and consent, selfie 1:1, officer QR, one-time code, the credential."""

    __tablename__ = "ikd_activations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    enrollment_id: Mapped[str] = mapped_column(String(40))
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    phone: Mapped[str] = mapped_column(EncryptedText)
    email: Mapped[str] = mapped_column(EncryptedText)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    selfie_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    selfie_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # the QR the officer shows holds a nonce; the resident's device proves it scanned it
    qr_nonce: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    code_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # the signed credential's payload (base64, not secret) holds NIK, name, birth date and address
    token: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    # activated before any card was printed for the resident: one blank the office need not spend now
    saves_blank: Mapped[bool] = mapped_column(Boolean, default=False)
    officer: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)


class CentralIkdRow(Base):
    """Central: one row per digital ID an office activated, kept current by `ikd.activated`/`ikd.revoked` packets.

    Keyed by the office's activation id, so a packet applied twice (or a resend under a new packet id) counts once.
    """

    __tablename__ = "central_ikd"

    activation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    saves_blank: Mapped[bool] = mapped_column(Boolean, default=False)
    officer: Mapped[str] = mapped_column(String(60))
    activated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_packet_id: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
