"""The enrollments' repository: the office's one writer of an enrollment's state (Enrollment machine)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ktpel.domain.enrollment import Enrollment
from ktpel.security.audit import record_audit
from ktpel.store.repository import Repository
from ktpel.store.schema.core import EnrollmentRow


class Enrollments(Repository[Enrollment, EnrollmentRow]):
    """Load an enrollment's machine from its row; save its state, events and (with an actor) audit."""

    row_type = EnrollmentRow
    machine_type = Enrollment

    def __init__(self, session: Session) -> None:
        super().__init__(session, audit=record_audit)
