"""Notification outbox, editable templates, the outage call-back and call lists, public lookups, revocations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.delivery import MessageState
from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedText, UtcDateTime


class NotifyMessageRow(Base):
    """One message to one recipient on one channel; `id` is its idempotency key towards the provider."""

    __tablename__ = "notify_messages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # hash of (resident, trigger, recipient, variables): a repeated event does not queue a second message
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("resident_phones.id", ondelete="SET NULL"),
                                                 nullable=True)
    trigger: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)
    variables: Mapped[str] = mapped_column(EncryptedText, default="{}")
    # PENDING → SENDING → SENT | FAILED | SKIPPED (opt-out)
    state: Mapped[str] = mapped_column(String(12), index=True, default=MessageState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # what the provider reported after accepting it (delivery report webhook): DELIVERED | READ | UNDELIVERED
    delivery: Mapped[str | None] = mapped_column(String(16), nullable=True)
    delivery_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_notify_messages_due", "state", "next_attempt_at"),)


class NotifyTemplateRow(Base):
    """A template the head of office edited; triggers without a row use the built-in text."""

    __tablename__ = "notify_templates"

    trigger: Mapped[str] = mapped_column(String(32), primary_key=True)
    body_id: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class TurnedAwayRow(Base):
    """A resident sent home during a data-center outage, to be told when service is back (call-back)."""

    __tablename__ = "notify_turned_away"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[str] = mapped_column(String(60))
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # set when the outage ended and a message was queued or a call-list entry opened
    notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # MESSAGE | CALL_LIST
    outage_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class CallListRow(Base):
    """A resident staff must phone because no consenting phone takes SMS."""

    __tablename__ = "notify_call_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    # the event's variables (JSON); the text staff read out is composed when the list is shown
    variables: Mapped[str] = mapped_column(EncryptedText)
    # OPEN (incl. after NO_ANSWER) → REACHED | WRONG_NUMBER
    state: Mapped[str] = mapped_column(String(16), index=True, default="OPEN")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CallAttemptRow(Base):
    """One call a staff member made from the call list, and how it went."""

    __tablename__ = "notify_call_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("notify_call_list.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # REACHED | NO_ANSWER | WRONG_NUMBER
    note: Mapped[str] = mapped_column(EncryptedText, default="")  # free text: a personal detail may be typed
    by: Mapped[str] = mapped_column(String(60))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class StatusLookupRow(Base):
    """One public status lookup (NIK kept only as a keyed hash) for the per-NIK limit and the log."""

    __tablename__ = "notify_status_lookups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    found: Mapped[bool] = mapped_column(default=False)
    limited: Mapped[bool] = mapped_column(default=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class RevocationRow(Base):
    """A card central revoked (e.g. the losing record of a data-ganda case), synced through `revocation` events."""

    __tablename__ = "notify_revocations"

    card_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    nik: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(EncryptedText, default="")  # names the kept record's NIK; any cause central sends
    revoked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
