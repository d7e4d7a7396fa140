"""A small table-driven state machine shared by enrollments and cards."""

from __future__ import annotations

from enum import Enum
from typing import Generic, TypeVar

from ktpel.domain.errors import InvalidTransition
from ktpel.domain.events import DomainEvent

S = TypeVar("S", bound=Enum)


class StateMachine(Generic[S]):
    """Aggregate whose state changes only through named actions listed in `TRANSITIONS`."""

    ENTITY = "entity"
    STATE_TYPE: type[Enum]  # the state enum: a repository rebuilds the aggregate from a row's string
    TRANSITIONS: dict[str, tuple[frozenset, object]] = {}

    def __init__(self, *, id: str, state: S) -> None:
        self.id = id
        self.state = state
        self.events: list[DomainEvent] = []

    def can(self, action: str) -> bool:
        sources, _ = self.TRANSITIONS[action]
        return self.state in sources

    def _apply(self, action: str, **data: object) -> None:
        sources, target = self.TRANSITIONS[action]
        if self.state not in sources:
            raise InvalidTransition(entity=self.ENTITY, current=self.state.value, action=action)
        before = self.state
        self.state = target  # type: ignore[assignment]
        self.events.append(DomainEvent(
            name=f"{self.ENTITY}.{action}",
            subject_id=self.id,
            data={"from": before.value, "to": self.state.value, **data},
        ))
