"""Recording (perekaman) tables: the captured images and templates of an enrollment, and form tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.domain.events import utcnow
from ktpel.store.schema.base import Base
from ktpel.store.types import EncryptedBytes, UtcDateTime


class EnrollmentCaptureRow(Base):
    """One captured item of an enrollment (face, finger_1…finger_10, signature), encrypted at rest."""

    __tablename__ = "enrollment_captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(40))
    image: Mapped[bytes] = mapped_column(EncryptedBytes)
    # None for the signature: it has no biometric template
    template: Mapped[bytes | None] = mapped_column(EncryptedBytes, nullable=True)
    quality_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    quality_ok: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("enrollment_id", "kind", name="uq_enrollment_captures_kind"),)


class EnrollmentSubmissionRow(Base):
    """The form token of a submitted capture: a second submit of the same form finds the first enrollment."""

    __tablename__ = "enrollment_submissions"

    form_token: Mapped[str] = mapped_column(String(64), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EnrollmentApprovalRow(Base):
    """Why an enrollment waits for a supervisor, and who approved it (policy: >2 missing, overrides)."""

    __tablename__ = "enrollment_approvals"

    enrollment_id: Mapped[str] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    reasons: Mapped[str] = mapped_column(String(400))
    approved_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
