"""Published shapes of the sync routes (envelope level; the payload inside a sealed packet is opaque here).

The routes read the raw JSON themselves (a body that is not a signed document is a 401, not a 422), so
these models only document the wire format in OpenAPI: docs/sync.md and docs/packet-format.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ktpel.web.openapi import inline_schema
from ktpel.web.schemas import Answer


class SealedBox(BaseModel):
    """X25519 + HKDF-SHA256 + AES-256-GCM box for central's encryption key (base64 fields)."""

    alg: str = Field(examples=["X25519-HKDF-SHA256-A256GCM"])
    epk: str
    nonce: str
    ct: str


class PacketEnvelope(BaseModel):
    """One packet: sealed content, signed by the office's Ed25519 key over the canonical JSON."""

    model_config = ConfigDict(extra="forbid")

    v: int
    type: str = Field(pattern="^packet$")
    office: str
    packet_id: str = Field(description="SHA-256 hex of the sealed content")
    sender_kid: str
    recipient_kid: str
    sealed: SealedBox
    sig: str


class PacketReceipt(BaseModel):
    receipt: dict
    duplicate: bool


_B64_32 = r"^[A-Za-z0-9_-]{43}$"  # 32 raw key bytes, URL-safe base64 without padding (crypto.b64e)


class _Ascii(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: object) -> object:
        if isinstance(value, str) and not (value.isascii() and value.isprintable()):
            raise ValueError("must be printable ASCII")
        return value


class OfficeKeysIn(_Ascii):
    """Public keys of an office (base64): Ed25519 `sign`, X25519 `enc`; `kid` derives from `sign`."""

    model_config = ConfigDict(extra="ignore")

    kid: str | None = Field(default=None, max_length=64)
    sign: str = Field(pattern=_B64_32)
    enc: str = Field(pattern=_B64_32)


class ProofIn(_Ascii):
    kid: str = Field(max_length=64)
    sig: str = Field(max_length=200)


class RegistrationIn(BaseModel):
    """An office's enrolment: its public keys, a proof signed by a key central knows, and the token."""

    model_config = ConfigDict(extra="ignore")

    office_code: str = Field(pattern=r"^[0-9]{2}\.[0-9]{2}$")
    name: str = Field(default="", max_length=120)
    keys: list[OfficeKeysIn] = Field(min_length=1, max_length=8)
    proof: ProofIn | None = None
    token: str | None = Field(default=None, max_length=200)

    @field_validator("name", "token", mode="after")
    @classmethod
    def _text(cls, value: str | None) -> str | None:  # an office name may be Indonesian text, never controls
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("contains a lone surrogate") from None
            if not value.isprintable():
                raise ValueError("must be printable")
        return value


def body_of(model: type[BaseModel]) -> dict:
    """An `openapi_extra` request body for a route that reads its JSON itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(model)}}}}


class AnnouncementOut(BaseModel):
    starts_at: str
    ends_at: str | None
    message_id: str
    message_en: str


class SyncStatus(BaseModel):
    """`GET /api/v1/sync/status`: is central reachable, what waits in the outbox, central's announcement."""

    model_config = ConfigDict(extra="allow")

    reachable: bool
    since: str | None
    queued: int
    last_success: str | None
    outbox: dict[str, int]  # packets per state (QUEUED, SENT, REFUSED)
    last_error: str | None
    announcement: AnnouncementOut | None


class KeyList(Answer):
    """Central's public keys, signed by every key of its ring (`GET /api/v1/sync/keys`, registration)."""

    v: int
    keys: list[dict[str, Any]]
    sigs: dict[str, str]


class CheckpointAccepted(Answer):
    ok: bool
    seq: Any


class SealedEvents(Answer):
    """Events after the cursor, sealed to the office (docs/sync.md: the events document)."""


class SignedCheckpoints(Answer):
    """The office's audit checkpoints as central holds them, in a document central signed."""
