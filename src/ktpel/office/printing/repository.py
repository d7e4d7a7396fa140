"""The cards' repository: the office's one writer of a card's state and blank (Card machine)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain.enrollment import Card
from ktpel.domain.events import DomainEvent
from ktpel.security.audit import record_audit
from ktpel.store.repository import Repository
from ktpel.store.schema.core import CardRow


class Cards(Repository[Card, CardRow]):
    """Load a card's machine (state and blank) from its row; save both, its events and (with an actor) audit."""

    row_type = CardRow
    machine_type = Card

    def __init__(self, session: Session) -> None:
        super().__init__(session, audit=record_audit)

    def machine_of(self, row: CardRow) -> Card:
        machine = super().machine_of(row)
        machine.blank_serial = row.blank_serial
        return machine

    def of_enrollment(self, enrollment_id: str) -> Card | None:
        row = self.session.scalars(select(CardRow).where(CardRow.enrollment_id == enrollment_id)).first()
        return None if row is None else self.machine_of(row)

    def on_saved(self, row: CardRow, machine: Card, events: list[DomainEvent]) -> None:
        row.blank_serial = machine.blank_serial
