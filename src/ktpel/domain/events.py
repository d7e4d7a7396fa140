"""Domain events: what happened, recorded by the aggregates and published by the service layer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str
    subject_id: str
    data: dict = field(default_factory=dict)
    at: dt.datetime = field(default_factory=utcnow)
