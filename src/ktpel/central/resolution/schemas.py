"""What the data-ganda API answers at central."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class DuplicateCase(Answer):
    id: str
    status: str
    source: str | None = None
    opened_by: str | None = None
    opened_at: str
    kept: str | None = None
    revoked: str | None = None
    resolved_at_office: str | None = None
    closed_at: str | None = None
    records: list[dict[str, Any]]


class DuplicateCases(Answer):
    items: list[DuplicateCase]
