"""Central data center tables: national records, the pipeline queue, adjudication and data-ganda cases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedJSON, EncryptedText, UtcDateTime


class NationalRecordRow(Base):
    """One recording as central holds it: demographics, templates and images (PII encrypted at rest)."""

    __tablename__ = "central_records"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the office's enrollment id
    packet_id: Mapped[str] = mapped_column(String(80), index=True)
    office_code: Mapped[str] = mapped_column(String(8), index=True)
    receipt_number: Mapped[str] = mapped_column(String(40), default="")
    nik: Mapped[str] = mapped_column(String(16), index=True)
    kk_number: Mapped[str] = mapped_column(EncryptedText, default="")
    name: Mapped[str] = mapped_column(EncryptedText)
    birth_place: Mapped[str] = mapped_column(EncryptedText)
    birth_date: Mapped[dt.date] = mapped_column(Date, index=True)
    sex: Mapped[str] = mapped_column(String(1))
    blood_type: Mapped[str] = mapped_column(EncryptedText, default="-")
    street: Mapped[str] = mapped_column(EncryptedText)
    rt: Mapped[str] = mapped_column(String(3), default="")
    rw: Mapped[str] = mapped_column(String(3), default="")
    village_code: Mapped[str] = mapped_column(String(13), default="")
    religion: Mapped[str] = mapped_column(EncryptedText, default="")
    marital_status: Mapped[str] = mapped_column(EncryptedText, default="")
    occupation: Mapped[str] = mapped_column(EncryptedText, default="")
    citizenship: Mapped[str] = mapped_column(String(3), default="WNI")
    father_name: Mapped[str] = mapped_column(EncryptedText, default="")
    mother_name: Mapped[str] = mapped_column(EncryptedText, default="")
    # lossy phonetic key of the name: a blocking key for demographic dedup, not the name itself
    name_key: Mapped[str] = mapped_column(String(16), index=True, default="")
    templates: Mapped[str] = mapped_column(EncryptedText)  # JSON {face, finger_1..10: base64}
    # JSON: a pointer to the held packet that has the images ({"packet", "keys", "types"}), or the images
    # themselves ({"data": {face, signature, finger_N: base64}, "types"}; ~1-2 MB); read through
    # ktpel.central.records by adjudication and resolution only, so deferred: not loaded by the pipeline
    images: Mapped[str] = mapped_column(EncryptedText, default="{}", deferred=True)
    exceptions: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)  # reasons: health data
    state: Mapped[str] = mapped_column(String(16), index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # order of insertion into the biometric gallery; workers refresh their in-memory gallery by it
    gallery_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    # how many identifying fingers (the thumbs) are too poor for the national search, counted when the
    # quality stage parses the templates; None: recorded before the count (`ktpel central abis-thumbs`
    # counts those once). Lists the residents to call back without decrypting every record.
    short_thumbs: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    card_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    captured_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RetiredNikRow(Base):
    """A NIK revoked by a data-ganda resolution: never printed again."""

    __tablename__ = "central_retired_niks"

    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[str] = mapped_column(String(40))
    retired_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PipelineJobRow(Base):
    """One enrollment packet travelling through the stages; the queue is this table."""

    __tablename__ = "central_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    packet_id: Mapped[str] = mapped_column(String(80), unique=True)
    record_id: Mapped[str] = mapped_column(String(40), index=True)
    office_code: Mapped[str] = mapped_column(String(8))
    # the packet payload as JSON, without the images when sync holds the packet (images_held_by_packet);
    # a job that brought its images gives them to the record at validate and keeps none.
    # Read by the validate stage only, so not loaded and decrypted again by the claim and each stage's hold
    payload: Mapped[str] = mapped_column(EncryptedText, deferred=True)
    stage: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # queued | running | done | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    results: Mapped[dict] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    enqueued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_central_jobs_claim", "status", "next_run_at"),)


class StageRunRow(Base):
    """One finished stage run: what the pipeline view counts for throughput."""

    __tablename__ = "central_stage_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("central_jobs.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    ok: Mapped[bool] = mapped_column(default=True)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    worker_id: Mapped[str] = mapped_column(String(80), default="")
    finished_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class AdjudicationRow(Base):
    """A probe and one candidate a person must compare (open → confirming → decided)."""

    __tablename__ = "central_adjudications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("central_records.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("central_records.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # biometric_hit | biometric_review | nik_collision
    band: Mapped[str] = mapped_column(String(10), default="")
    fused_z: Mapped[float] = mapped_column(Float, default=0.0)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    demographic: Mapped[dict] = mapped_column(JSON, default=dict)
    urgency: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    first_decision: Mapped[str | None] = mapped_column(String(10), nullable=True)
    first_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    first_reason: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)  # the adjudicator's free text
    first_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    final_decision: Mapped[str | None] = mapped_column(String(10), nullable=True)
    final_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    final_reason: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("record_id", "candidate_id", name="uq_central_adjudications_pair"),)


class DuplicateCaseRow(Base):
    """A data-ganda case: two records of one person, until the resident chooses which stays."""

    __tablename__ = "central_duplicate_cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_a: Mapped[str] = mapped_column(ForeignKey("central_records.id"), index=True)
    record_b: Mapped[str] = mapped_column(ForeignKey("central_records.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # adjudication | office
    adjudication_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open | closed
    kept_record_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    revoked_record_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resolved_at_office: Mapped[str | None] = mapped_column(String(8), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CentralCounterRow(Base):
    """Named counters taken under a row lock (gallery insertion order across workers)."""

    __tablename__ = "central_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class DedupModelRow(Base):
    """A demographic dedup model trained on the national records (m/u per field level, no PII).

    Stored so that every worker applies the same model and only one trains it when it is due."""

    __tablename__ = "central_dedup_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    records: Mapped[int] = mapped_column(Integer)  # national records when it was trained
    model: Mapped[dict] = mapped_column(JSON)
    trained_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    trained_by: Mapped[str] = mapped_column(String(120), default="")
