"""What the office's sync API answers (response models)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
