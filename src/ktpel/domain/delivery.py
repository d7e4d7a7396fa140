"""States of what the office sends: a signed packet in the sync outbox, a message to a resident."""

from __future__ import annotations

from enum import Enum


class PacketState(str, Enum):
    """An outbox packet: QUEUED until central's signed receipt, then SENT; REFUSED for good by central."""

    QUEUED = "QUEUED"
    SENT = "SENT"
    REFUSED = "REFUSED"


class MessageState(str, Enum):
    """A notification: PENDING → SENDING → SENT | FAILED | SKIPPED (opt-out)."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
