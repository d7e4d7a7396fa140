"""Sync tables: the office outbox, link and outage state; central's packets, events, offices, announcements."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.delivery import PacketState
from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedText, UtcDateTime

# -- office side ---------------------------------------------------------------------------------


class OutboxRow(Base):
    """One packet waiting for (or holding) central's signed receipt; `seq` is the sending order."""

    __tablename__ = "sync_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    packet_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[str] = mapped_column(EncryptedText)  # canonical JSON; its SHA-256 is packet_id
    state: Mapped[str] = mapped_column(String(10), index=True, default=PacketState.QUEUED.value)  # QUEUED | SENT
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LinkRow(Base):
    """The office's view of central (one row): reachability, backoff and the event cursor."""

    __tablename__ = "sync_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_attempt: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    event_cursor: Mapped[int] = mapped_column(Integer, default=0)
    current_outage_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OutageRow(Base):
    """A period central could not be reached (gangguan), for the banner and for reports."""

    __tablename__ = "sync_outages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cause: Mapped[str] = mapped_column(Text, default="")
    queued_at_start: Mapped[int] = mapped_column(Integer, default=0)


class OfficeAnnouncementRow(Base):
    """A maintenance window central announced, as this office received it."""

    __tablename__ = "sync_office_announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # central's announcement id
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


# -- central side --------------------------------------------------------------------------------


class SyncOfficeRow(Base):
    """A registered office: its regency code and the public keys its packets are checked against."""

    __tablename__ = "sync_offices"

    office_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    keys: Mapped[list] = mapped_column(JSON, default=list)  # [{kid, sign, enc}], oldest first
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CentralPacketRow(Base):
    """A packet central holds durably; the receipt is stored so a resend gets the very same receipt."""

    __tablename__ = "central_packets"

    packet_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(EncryptedText)  # JSON
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # when the office queued it
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    receipt: Mapped[str] = mapped_column(Text)


class CentralEventRow(Base):
    """An event for one office, numbered without gaps per office so offices pull by cursor."""

    __tablename__ = "central_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[str] = mapped_column(EncryptedText)  # JSON; authorisations carry PII
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("office_code", "seq", name="uq_central_events_office_seq"),)


class EventCounterRow(Base):
    """Last event sequence per office; its row lock makes sequences commit in order."""

    __tablename__ = "sync_event_counters"

    office_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class RejectionRow(Base):
    """A packet or request central refused, with the reason (the security log of intake)."""

    __tablename__ = "sync_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    office_code: Mapped[str] = mapped_column(String(40), default="")
    packet_id: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    remote: Mapped[str] = mapped_column(String(64), default="")


class AnnouncementRow(Base):
    """A maintenance window announced by central to every office."""

    __tablename__ = "sync_announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    message_id: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
