"""What the residents API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class ResidentHit(Answer):
    nik: str
    kk_number: str | None = None
    name: str
    birth_place: str | None = None
    birth_date: str
    sex: str | None = None
    village_code: str | None = None
    status: Any = None


class ResidentPage(Answer):
    total: int
    page: int
    page_size: int
    items: list[ResidentHit]
