"""What the data-ganda API answers at central."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

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


class SealedRecordPhoto(BaseModel):
    """One record's face photo and KK number, sealed to the asking office's key and signed by central.

    The sealed body holds `case_id`, `enrollment_id`, `kk_number`, `media_type` and `face` (base64)."""

    v: int = Field(description="envelope version")
    type: str = Field(description="always `duplicate.record_photo`")
    office: str = Field(description="the office the reply is sealed to")
    case_id: str
    enrollment_id: str
    central_kid: str = Field(description="the central key that signed the reply")
    recipient_kid: str = Field(description="the office key the content is sealed to")
    sealed: dict = Field(description="X25519 + AEAD sealed JSON body")
    sig: str = Field(description="Ed25519 signature over the rest")
