"""The durable job queue in the central database.

A job is claimed by flipping it to `running` with a lease; on PostgreSQL the claim reads with
`FOR UPDATE SKIP LOCKED`, so any number of workers on any number of machines take different jobs
without waiting on each other. A worker that dies leaves its lease to expire and the job is claimed
again from the stage it had reached (stages are idempotent). SQLite has one writer at a time: run a
single worker there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.store.schema.central import PipelineJobRow

STAGES = ("validate", "quality", "demographic", "gallery", "biometric", "decide")
DONE = "done"
QUEUED, RUNNING, FINISHED, DEAD = "queued", "running", "done", "dead"
LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 5


class LeaseLost(KtpelError):
    """Another worker took this job over (our lease expired): stop touching it."""

    code = "lease_lost"
    http_status = 409

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Pekerjaan {job_id} sudah diambil pekerja lain.",
                         f"Job {job_id} was taken over by another worker.")


class NotDeadLettered(KtpelError):
    code = "job_not_dead"
    http_status = 409


@dataclass(frozen=True)
class Claimed:
    id: int
    record_id: str
    stage: str
    attempts: int


def enqueue(session: Session, *, packet_id: str, record_id: str, office_code: str, payload_json: str) -> int:
    """Queue one enrollment packet at the first stage (idempotent per packet id)."""
    existing = session.scalar(select(PipelineJobRow).where(PipelineJobRow.packet_id == packet_id))
    if existing is not None:
        return existing.id
    job = PipelineJobRow(packet_id=packet_id, record_id=record_id, office_code=office_code,
                         payload=payload_json, stage=STAGES[0], status=QUEUED, attempts=0,
                         next_run_at=utcnow(), results={})
    session.add(job)
    session.flush()
    return job.id


def claim(session: Session, *, worker_id: str, lease: dt.timedelta = LEASE) -> Claimed | None:
    """Take the oldest runnable job (queued and due, or running with an expired lease)."""
    now = utcnow()
    q = (select(PipelineJobRow)
         .where(or_(and_(PipelineJobRow.status == QUEUED, PipelineJobRow.next_run_at <= now),
                    and_(PipelineJobRow.status == RUNNING, PipelineJobRow.lease_until < now)))
         .order_by(PipelineJobRow.next_run_at, PipelineJobRow.id)
         .limit(1))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    job = session.scalars(q).first()
    if job is None:
        return None
    if job.status == RUNNING:  # a crashed worker's job: say so where people look
        job.last_error = f"lease of {job.worker_id} expired at {job.lease_until.isoformat()}; retried"
    job.status = RUNNING
    job.worker_id = worker_id
    job.lease_until = now + lease
    job.attempts += 1
    session.flush()
    return Claimed(job.id, job.record_id, job.stage, job.attempts)


def hold(session: Session, *, job_id: int, worker_id: str, lease: dt.timedelta = LEASE) -> PipelineJobRow:
    """The job, locked for this transaction, if this worker still holds its lease (else LeaseLost)."""
    q = select(PipelineJobRow).where(PipelineJobRow.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    job = session.scalars(q).one()
    if job.status != RUNNING or job.worker_id != worker_id:
        raise LeaseLost(job_id)
    job.lease_until = utcnow() + lease
    return job


def release_for_retry(session: Session, *, job_id: int, worker_id: str, error: str,
                      max_attempts: int = MAX_ATTEMPTS) -> str:
    """After a transient error: back to the queue with backoff, or dead once attempts run out."""
    job = hold(session, job_id=job_id, worker_id=worker_id)
    job.last_error = error[:4000]
    job.worker_id = None
    job.lease_until = None
    if job.attempts >= max_attempts:
        job.status = DEAD
        job.finished_at = utcnow()
    else:
        job.status = QUEUED
        job.next_run_at = utcnow() + dt.timedelta(seconds=min(2 ** job.attempts, 60))
    return job.status


def dead_letter(session: Session, *, job_id: int, worker_id: str, error: str) -> None:
    """A poison packet: parked with its error, never retried by itself."""
    job = hold(session, job_id=job_id, worker_id=worker_id)
    job.status = DEAD
    job.last_error = error[:4000]
    job.worker_id = None
    job.lease_until = None
    job.finished_at = utcnow()


def retry_dead(session: Session, *, job_id: int) -> PipelineJobRow:
    """Put a dead-lettered job back in the queue at the stage it failed (after a fix)."""
    job = session.get(PipelineJobRow, job_id)
    if job is None:
        raise NotFound(f"Pekerjaan {job_id} tidak ada.", f"Job {job_id} does not exist.")
    upd = session.execute(update(PipelineJobRow)
                          .where(PipelineJobRow.id == job_id, PipelineJobRow.status == DEAD)
                          .values(status=QUEUED, attempts=0, next_run_at=utcnow(), finished_at=None))
    if upd.rowcount != 1:
        raise NotDeadLettered(f"Pekerjaan {job_id} tidak berada di antrean gagal.",
                              f"Job {job_id} is not dead-lettered.")
    session.refresh(job)
    return job
