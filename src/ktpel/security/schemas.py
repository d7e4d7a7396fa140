"""What the security API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class Me(Answer):
    username: str
    role: str
    regency_code: str | None = None
    full_name: str | None = None
    csrf_token: str | None = None  # a browser session only


class AuditPage(Answer):
    total: int
    page: int
    page_size: int
    items: list[dict[str, Any]]


class ChainProblem(Answer):
    seq: Any = None
    kind: str
    message_id: str
    message_en: str


class AuditVerification(Answer):
    ok: bool
    entries: int
    problems: list[ChainProblem]
