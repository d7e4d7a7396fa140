"""What the printing API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class QueuedCard(Answer):
    position: int
    card_id: str
    nik: str | None = None
    name: str | None = None
    classes: list[str]
    score: Any = None
    days_waited: Any = None
    printable: bool
    why_not: str | None = None


class PrintQueue(Answer):
    policy: dict[str, Any]
    present_only: bool
    stock: dict[str, Any]
    waiting_not_present: Any = None
    items: list[QueuedCard]


class PrintJobStarted(Answer):
    job_id: str
    card_id: str
    blank_serial: str | None = None
    driver: str
    destination: str | None = None
    offline: bool
    state: str


class PrintJobOutcome(Answer):
    job_id: str
    state: str | None = None
    card_state: str | None = None
    blank_serial: str | None = None


class BlankStock(Answer):
    available: int
    reserved: int
    urgent_reserve: int
    consumed_last_days: int
    window_days: int
    days_to_stockout: Any = None
    ledger: dict[str, Any]
