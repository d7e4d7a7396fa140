"""What the notifications API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class CallbackAdded(Answer):
    id: Any
    waiting: bool


class OutboxMessage(Answer):
    id: Any
    trigger: str
    recipient: str | None = None
    channel: str
    state: str
    attempts: int
    last_error: str | None = None
    created_at: str
    sent_at: str | None = None
    delivery: Any = None


class Outbox(Answer):
    counts: dict[str, int]
    items: list[OutboxMessage]


class TemplateSaved(Answer):
    trigger: str
    body_id: str
    body_en: str


class DeliveryReportsApplied(Answer):
    received: int
    updated: int
