"""What the data-center operator sees and does on the pipeline: counts, throughput, dead letters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.central.pipeline import ports, queue
from ktpel.domain.events import utcnow
from ktpel.store.schema.central import PipelineJobRow, StageRunRow


@dataclass(frozen=True)
class StageStats:
    stage: str
    queued: int
    in_progress: int
    failed: int
    per_minute: float  # finished runs per minute over the window
    oldest_age_s: float | None


def pipeline_stats(session: Session, *, window_minutes: int = 10, now: dt.datetime | None = None) -> dict:
    """Per stage: queued / in progress / dead, throughput per minute, oldest waiting item; and totals."""
    now = now or utcnow()
    since = now - dt.timedelta(minutes=window_minutes)
    counts: dict[tuple[str, str], int] = {}
    oldest: dict[str, dt.datetime] = {}
    for stage, status, n, first in session.execute(
            select(PipelineJobRow.stage, PipelineJobRow.status, func.count(), func.min(PipelineJobRow.enqueued_at))
            .where(PipelineJobRow.status != queue.FINISHED)
            .group_by(PipelineJobRow.stage, PipelineJobRow.status)):
        counts[(stage, status)] = n
        if status in (queue.QUEUED, queue.RUNNING) and first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=dt.timezone.utc)
            oldest[stage] = min(oldest.get(stage, first), first)
    runs = dict(session.execute(
        select(StageRunRow.stage, func.count()).where(StageRunRow.finished_at >= since, StageRunRow.ok.is_(True))
        .group_by(StageRunRow.stage)).all())
    stages = [StageStats(stage=s, queued=counts.get((s, queue.QUEUED), 0),
                         in_progress=counts.get((s, queue.RUNNING), 0), failed=counts.get((s, queue.DEAD), 0),
                         per_minute=round(runs.get(s, 0) / window_minutes, 2),
                         oldest_age_s=round((now - oldest[s]).total_seconds(), 1) if s in oldest else None)
              for s in queue.STAGES]
    outcomes = dict(session.execute(
        select(PipelineJobRow.outcome, func.count()).where(PipelineJobRow.status == queue.FINISHED)
        .group_by(PipelineJobRow.outcome)).all())
    decided_recent = session.scalar(select(func.count()).select_from(PipelineJobRow).where(
        PipelineJobRow.status == queue.FINISHED, PipelineJobRow.finished_at >= since)) or 0
    return {"stages": stages, "outcomes": {k or "-": v for k, v in outcomes.items()},
            "decisions_per_minute": round(decided_recent / window_minutes, 2), "window_minutes": window_minutes,
            "at": now, "model": dedup_model_summary(session)}


def dedup_model_summary(session: Session) -> dict | None:
    """Which demographic model the workers apply: when, on how many records, by which engine."""
    from ktpel.central.dedup.service import stored_model

    row = stored_model(session)
    if row is None:
        return None
    trained = row.model.get("trained_on") or {}
    return {"id": row.id, "records": row.records, "trained_at": row.trained_at.isoformat(timespec="seconds"),
            "trained_by": row.trained_by, "engine": trained.get("engine", "priors (too few records to train)")}


def dead_letters(session: Session, *, limit: int = 100) -> list[PipelineJobRow]:
    """Jobs parked with their error, newest first."""
    return list(session.scalars(select(PipelineJobRow).where(PipelineJobRow.status == queue.DEAD)
                                .order_by(PipelineJobRow.finished_at.desc()).limit(limit)))


def retry_dead_letter(session: Session, *, job_id: int, actor: str, source_ip: str | None = None) -> PipelineJobRow:
    """Send a dead-lettered job back to the queue (audited)."""
    job = queue.retry_dead(session, job_id=job_id)
    ports.audit(session, actor=actor, action="pipeline.retry_dead_letter", subject=str(job_id),
                before={"status": queue.DEAD}, after={"status": job.status, "stage": job.stage},
                source_ip=source_ip)
    return job
