"""What the Suket API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class SuketPolicyOut(Answer):
    mode: str
    listed: list[str]
    label_id: str
    label_en: str
    changed_by: str | None = None
    changed_at: str | None = None


class SuketOut(Answer):
    serial: str
    nik: str
    state: str
    status_code: Any = None
    reason: str | None = None
    valid_from: str
    valid_until: str
    renewals: int
    token: str | None = None
    issued_by: str | None = None
