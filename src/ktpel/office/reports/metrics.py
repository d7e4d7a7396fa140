"""The office's Prometheus gauges (`/metrics`): enrollments by state, print backlog, blanks, outbox, link."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.delivery import PacketState
from ktpel.office.reports.office import backlog_now, blanks_now
from ktpel.reports.metrics import age, metrics_router
from ktpel.reports.sources import table
from ktpel.store.schema.core import EnrollmentRow


def office_metrics(session: Session, registry: CollectorRegistry, *, settings: Settings, now: dt.datetime) -> None:
    office_code = settings.office_regency
    states = Gauge("ktpel_enrollments", "Enrollments of this office by state", ["state"], registry=registry)
    for state, n in session.execute(select(EnrollmentRow.state, func.count())
                                    .where(EnrollmentRow.office_code == office_code).group_by(EnrollmentRow.state)):
        states.labels(state=state).set(n)
    Gauge("ktpel_print_ready_backlog", "Cards print-ready and not yet printed", registry=registry).set(
        backlog_now(session, office_code=office_code))
    blanks = blanks_now(session)
    if blanks is not None:
        Gauge("ktpel_blanks_on_hand", "Blank cards available to print on", registry=registry).set(blanks)
    outbox = table("sync_outbox", "state", "created_at")
    if outbox is not None:
        n, oldest = session.execute(select(func.count(), func.min(outbox.c.created_at))
                                    .where(outbox.c.state == PacketState.QUEUED.value)).one()
        Gauge("ktpel_outbox_queued", "Packets waiting for central's receipt", registry=registry).set(n or 0)
        Gauge("ktpel_sync_lag_seconds", "Age of the oldest packet not yet receipted", registry=registry).set(
            age(now, oldest))
    link = table("sync_link", "reachable")
    if link is not None:
        reachable = session.scalar(select(link.c.reachable).limit(1))
        Gauge("ktpel_central_reachable", "1 if central answered the last attempt", registry=registry).set(
            1 if reachable is None or reachable else 0)


router = metrics_router(office_metrics)
