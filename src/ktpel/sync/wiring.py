"""What sync calls on, handed to it by each side's composition module (sync itself decides nothing).

Office: `OfficeHandlers.events[kind]` run for each central event, in the transaction that advances the
cursor, as `fn(session, *, context, seq, kind, subject_id, data)` (`context`: the agent's HandlerContext);
`packet_sent[kind]` run when central's signed receipt for a packet of that kind arrives, as
`fn(session, *, kind, subject_id, receipt)`; `outage_ended` run when central answers again after an
outage, as `fn(session, *, outage_id, started_at, ended_at)`.
Central: `IntakeHandlers.handlers[kind]` run in the transaction that stores a packet, as
`fn(session, *, context, packet_id, office_code, kind, subject_id, payload)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ktpel.config import Settings
from ktpel.domain.events import utcnow

Handler = Callable[..., None]


@dataclass(frozen=True)
class HandlerContext:
    """What a handler may need besides the session: no module globals, no settings looked up on its own."""

    settings: Settings
    clock: Callable[[], dt.datetime] = utcnow


@dataclass(frozen=True)
class OfficeHandlers:
    events: Mapping[str, Sequence[Handler]] = field(default_factory=dict)
    packet_sent: Mapping[str, Sequence[Handler]] = field(default_factory=dict)
    outage_ended: Sequence[Handler] = ()


@dataclass(frozen=True)
class IntakeHandlers:
    handlers: Mapping[str, Sequence[Handler]] = field(default_factory=dict)
