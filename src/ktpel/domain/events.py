"""Domain events: what happened, recorded by the aggregates and published by the service layer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ktpel.domain import clock


def utcnow() -> dt.datetime:
    """The current instant from the one clock (`ktpel.domain.clock`)."""
    return clock.now()


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str
    subject_id: str
    data: dict = field(default_factory=dict)
    at: dt.datetime = field(default_factory=utcnow)
