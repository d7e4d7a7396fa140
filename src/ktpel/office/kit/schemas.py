"""What the field kit's packet upload answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class KitPacketResult(Answer):
    packet_id: str
    home_packet_id: str | None = None
    error: dict[str, Any] | None = None


class KitPacketsReceived(Answer):
    packets: list[KitPacketResult]
