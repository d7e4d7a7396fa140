"""Residents, family cards, enrollments and cards: the tables every capability builds on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, Boolean, JSON
from sqlalchemy.orm import Mapped, mapped_column, validates

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedJSON, EncryptedText, UtcDateTime


def kk_index(kk_number: str) -> str:
    """Keyed blind index of a family card (KK) number: search by KK without storing it in clear."""
    from ktpel.store.fields import cipher

    return cipher().blind_index("kk:" + (kk_number or "").strip())


def _kk_index_default(context) -> str:  # noqa: ANN001 - Core inserts (seeding) that give only kk_number
    return kk_index(context.get_current_parameters().get("kk_number") or "")


class ResidentRow(Base):
    """A resident (penduduk) of the office's regency. Every personal column is encrypted at rest except
    those docs/security.md justifies (NIK, birth date and sex — the NIK encodes both — and region codes)."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    kk_number: Mapped[str] = mapped_column(EncryptedText)
    kk_index: Mapped[str] = mapped_column(String(32), index=True, default=_kk_index_default)
    name: Mapped[str] = mapped_column(EncryptedText)
    birth_place: Mapped[str] = mapped_column(EncryptedText)
    birth_date: Mapped[dt.date] = mapped_column(Date, index=True)
    sex: Mapped[str] = mapped_column(String(1))
    blood_type: Mapped[str] = mapped_column(EncryptedText)
    street: Mapped[str] = mapped_column(EncryptedText)
    rt: Mapped[str] = mapped_column(String(3))
    rw: Mapped[str] = mapped_column(String(3))
    village_code: Mapped[str] = mapped_column(String(13))
    district_code: Mapped[str] = mapped_column(String(8), index=True)
    regency_code: Mapped[str] = mapped_column(String(5), index=True)
    religion: Mapped[str] = mapped_column(EncryptedText)
    marital_status: Mapped[str] = mapped_column(EncryptedText)
    occupation: Mapped[str] = mapped_column(EncryptedText)
    citizenship: Mapped[str] = mapped_column(String(3), default="WNI")
    family_role: Mapped[str] = mapped_column(EncryptedText)
    father_name: Mapped[str] = mapped_column(EncryptedText, default="")
    mother_name: Mapped[str] = mapped_column(EncryptedText, default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    @validates("kk_number")
    def _index_kk(self, key: str, value: str) -> str:  # noqa: ARG002
        self.kk_index = kk_index(value)
        return value


class ResidentNameTokenRow(Base):
    """Blind index: one keyed hash per word of a resident's name, for search without plaintext."""

    __tablename__ = "resident_name_tokens"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_resident_name_tokens_token", "token", "resident_id"),)


class PhoneRow(Base):
    """A resident's phone (E.164), with consent to be contacted."""

    __tablename__ = "resident_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(EncryptedText)
    takes_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EnrollmentRow(Base):
    """One recording (perekaman) and where it stands (CAPTURED … PRINT_READY / DUPLICATE / FAILED)."""

    __tablename__ = "enrollments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    receipt_number: Mapped[str] = mapped_column(String(20), unique=True)
    operator: Mapped[str] = mapped_column(String(60), default="")
    approved_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    quality: Mapped[dict] = mapped_column(JSON, default=dict)
    exceptions: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)  # reasons: health data
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CardRow(Base):
    """The card of a print-ready enrollment, from authorisation to hand-over."""

    __tablename__ = "cards"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    blank_serial: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    authorisation: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)  # its payload names the holder
    printed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    issued_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DomainEventRow(Base):
    """Every state change, in order: what the service layer published."""

    __tablename__ = "domain_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    subject_id: Mapped[str] = mapped_column(String(40), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
