"""What the adjudication API answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class AdjudicationQueue(Answer):
    items: list[dict[str, Any]]


class AdjudicationDossier(Answer):
    id: str
    status: str
    version: int
    reason: str | None = None
    band: str | None = None
    fused_z: Any = None
    first_by: str | None = None
    final_by: str | None = None
    final_decision: str | None = None
    probe: dict[str, Any]
    candidate: dict[str, Any]
    differences: list[str]
    scores: Any = None
    demographic: Any = None


class AdjudicationDecided(Answer):
    id: str
    status: str
    version: int
