"""What the pipeline API answers (response models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class StageOut(BaseModel):
    stage: str
    queued: int
    in_progress: int
    failed: int
    per_minute: float
    oldest_age_s: float | None


class DeadLetterOut(BaseModel):
    id: int
    packet_id: str
    record_id: str
    office_code: str
    stage: str
    attempts: int
    error: str | None


class PipelineStats(BaseModel):
    """`GET /api/v1/pipeline`: each stage's queue, outcomes, throughput, the dedup model, dead letters."""

    model_config = ConfigDict(extra="allow")

    stages: list[StageOut]
    outcomes: dict[str, int]
    decisions_per_minute: float
    window_minutes: int
    dedup_model: dict[str, Any] | None
    dead_letters: list[DeadLetterOut]


class RetriedJob(BaseModel):
    """`POST /api/v1/pipeline/jobs/{id}/retry`: the dead letter is queued again at the stage it failed."""

    id: int
    status: str
    stage: str
