"""What the public (no sign-in) API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class RecordingStatus(Answer):
    """The state of a recording in words a resident understands (fields: ktpel.office.public.service)."""


class CardVerification(Answer):
    result: str
    reason: str | None = None
    text_id: str
    text_en: str
    card: dict[str, Any] | None = None
    kind: str | None = None
