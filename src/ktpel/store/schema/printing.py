"""Printing tables: blank ledger, print queue, print jobs, pickup checks, settings; central allocation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedJSON, EncryptedText, UtcDateTime


class BlankBatchRow(Base):
    """A batch of blanks received by the office (from a central allocation or entered by hand)."""

    __tablename__ = "blank_batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_serial: Mapped[str] = mapped_column(String(32))
    last_serial: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # central | manual
    # the central allocation this batch came from: a second delivery of the same event is a no-op
    allocation_ref: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    received_by: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class BlankRow(Base):
    """One blank card by serial; exactly once AVAILABLE → USED | SPOILED | RETURNED."""

    __tablename__ = "blanks"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("blank_batches.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    card_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # taken into a printer for this card; unique so one card never holds two blanks at once
    reserved_for: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    reserved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class BlankMovementRow(Base):
    """Every change of a blank's state, for the daily reconciliation and the audit trail."""

    __tablename__ = "blank_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), index=True)
    from_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_state: Mapped[str] = mapped_column(String(12))
    card_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    actor: Mapped[str] = mapped_column(String(60))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PrintQueueRow(Base):
    """A print-ready resident who came to the counter (or has an appointment) to have the card printed."""

    __tablename__ = "print_queue"

    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    via: Mapped[str] = mapped_column(String(12), default="counter")  # counter | appointment
    appointment_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # priority classes name health (BPJS), disability or old age; the note is free text about the proof
    classes: Mapped[list] = mapped_column(EncryptedJSON, default=list)
    proof_notes: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)
    marked_by: Mapped[str] = mapped_column(String(60))
    arrived_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    left_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PrintJobRow(Base):
    """One attempt to print one card on one blank: SENT, then PRINTED or SPOILED (or CANCELLED)."""

    __tablename__ = "print_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"), index=True)
    blank_serial: Mapped[str] = mapped_column(ForeignKey("blanks.serial"), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    driver: Mapped[str] = mapped_column(String(12))
    destination: Mapped[str] = mapped_column(Text, default="")
    operator: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # central could not be reached when it was sent: the office printed on its held authorisation
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    report_packet_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PickupCheckRow(Base):
    """A 1:1 biometric check at card pickup, matched or not."""

    __tablename__ = "pickup_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"), index=True)
    modality: Mapped[str] = mapped_column(String(8))  # finger | face
    finger_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(nullable=True)
    matched: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(EncryptedText, default="")  # free text: a personal detail may be typed
    operator: Mapped[str] = mapped_column(String(60))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PrintingSettingRow(Base):
    """Office printing rules the head of office may change (e.g. print only residents present)."""

    __tablename__ = "printing_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(60))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class BlankAllocationRow(Base):
    """Central: one regency's share of a national blank allocation plan (and its serial range)."""

    __tablename__ = "blank_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40), index=True)
    regency_code: Mapped[str] = mapped_column(String(5), index=True)
    blanks: Mapped[int] = mapped_column(Integer)
    first_serial: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_serial: Mapped[str | None] = mapped_column(String(32), nullable=True)
    backlog: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PrintedReportRow(Base):
    """Central: a blank serial an office reported as printed (kind `card.printed`)."""

    __tablename__ = "printed_reports"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    office_code: Mapped[str] = mapped_column(String(5), index=True)
    card_id: Mapped[str] = mapped_column(String(40), index=True)
    packet_id: Mapped[str] = mapped_column(String(80))
    printed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_printed_reports_office_day", "office_code", "printed_at"),)
