"""Repositories of the state machines: load an aggregate from its row, save what it did in one place.

The domain method decides the transition; the repository writes the row's new state, one
`domain_events` row per event the aggregate recorded and, where the capability asks for it, an audit
entry per transition, all in the caller's transaction. Nothing else writes a lifecycle's state.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from sqlalchemy.orm import Session

from ktpel.domain.events import DomainEvent
from ktpel.domain.state_machine import StateMachine
from ktpel.store.schema.core import DomainEventRow

M = TypeVar("M", bound=StateMachine)
R = TypeVar("R")

# fn(session, *, actor, action, subject, before, after): security's record_audit has this shape
AuditFn = Callable[..., None]


# Event fields that hold what staff typed, or a personal detail (a revocation's reason): the row that needs
# the text keeps it encrypted (suket.close_reason, notify_revocations.reason); the event log is clear JSON
# that reports only count, so the text stays out of it (issue 20)
PRIVATE_FIELDS = {"suket.revoke": ("reason",), "ikd.revoke": ("reason",), "card.revoke": ("reason",)}


def logged_data(event: DomainEvent) -> dict:
    """What of an event's data the clear `domain_events` log keeps."""
    private = PRIVATE_FIELDS.get(event.name, ())
    return {k: v for k, v in event.data.items() if k not in private}


def store_events(session: Session, events: list[DomainEvent]) -> None:
    """The aggregate's events on the side's event log (reports count them)."""
    for e in events:
        session.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data=logged_data(e), at=e.at))


class Repository(Generic[M, R]):
    """One aggregate type over one table; a repository object lives for one session (unit of work)."""

    row_type: type
    machine_type: type[M]

    def __init__(self, session: Session, *, audit: AuditFn | None = None) -> None:
        self.session = session
        self._audit = audit
        self._rows: dict[str, R] = {}

    # -- loading -----------------------------------------------------------------------------

    def machine_of(self, row: R) -> M:
        """The aggregate of a row the caller already holds (e.g. from a query)."""
        machine = self.machine_type(id=row.id, state=self.machine_type.STATE_TYPE(row.state))
        self._rows[machine.id] = row
        return machine

    def get(self, id: str) -> M | None:
        row = self.session.get(self.row_type, id)
        return None if row is None else self.machine_of(row)

    def row(self, machine: M) -> R:
        """The row behind an aggregate this repository loaded or added."""
        return self._rows[machine.id]

    def add(self, machine: M, **fields: object) -> R:
        """A new aggregate: its row is created with `fields` and its state."""
        row = self.row_type(id=machine.id, state=machine.state.value, **fields)
        self.session.add(row)
        self._rows[machine.id] = row
        return row

    # -- saving ------------------------------------------------------------------------------

    def save(self, machine: M, *, actor: str | None = None) -> R:
        """Write the aggregate's state and the events it recorded since it was loaded (or last saved).

        With `actor`, each transition also gets an audit entry (before/after state), as central's
        events applied at the office do; user actions audit their own richer entry instead.
        """
        row = self._rows[machine.id]
        row.state = machine.state.value
        events, machine.events = machine.events, []
        store_events(self.session, events)
        if actor is not None and self._audit is not None:
            for e in events:
                self._audit(self.session, actor=actor, action=e.name, subject=e.subject_id,
                            before={"state": e.data.get("from")}, after={"state": e.data.get("to")})
        self.on_saved(row, machine, events)
        return row

    def on_saved(self, row: R, machine: M, events: list[DomainEvent]) -> None:
        """Hook for a subclass that keeps more of the aggregate on its row."""
