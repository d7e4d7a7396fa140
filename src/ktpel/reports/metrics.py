"""Prometheus metrics (`/metrics`): queue depths, sync lag, pipeline latency, blank stock.

Who may read it: anyone on the loopback interface, nobody else (403). A scraper runs on the same host
(or a sidecar that forwards to it); the figures carry no personal data, but queue sizes of a civil
registry are still nobody else's business, and a token would be one more secret to rotate per office.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pathlib import Path

from ktpel.domain.delivery import PacketState
from ktpel.domain.events import utcnow
from ktpel.office.reports.office import backlog_now, blanks_now
from ktpel.reports.period import percentile
from ktpel.reports.sources import as_utc, table
from ktpel.security.access import public
from ktpel.store.schema.core import EnrollmentRow

router = APIRouter()


def _age(now: dt.datetime, at: dt.datetime | None) -> float:
    return 0.0 if at is None else max(0.0, (now - as_utc(at)).total_seconds())


def office_metrics(session: Session, registry: CollectorRegistry, *, office_code: str, now: dt.datetime) -> None:
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
            _age(now, oldest))
    link = table("sync_link", "reachable")
    if link is not None:
        reachable = session.scalar(select(link.c.reachable).limit(1))
        Gauge("ktpel_central_reachable", "1 if central answered the last attempt", registry=registry).set(
            1 if reachable is None or reachable else 0)


def central_metrics(session: Session, registry: CollectorRegistry, *, now: dt.datetime) -> None:
    jobs = table("central_jobs", "stage", "status", "enqueued_at")
    if jobs is not None:
        depth = Gauge("ktpel_pipeline_queue_depth", "Pipeline jobs waiting or running, by stage", ["stage"],
                      registry=registry)
        for stage, n in session.execute(select(jobs.c.stage, func.count())
                                        .where(jobs.c.status.in_(("queued", "running"))).group_by(jobs.c.stage)):
            depth.labels(stage=stage).set(n)
        oldest = session.scalar(select(func.min(jobs.c.enqueued_at)).where(jobs.c.status.in_(("queued", "running"))))
        Gauge("ktpel_pipeline_oldest_seconds", "Age of the oldest unfinished pipeline job", registry=registry).set(
            _age(now, oldest))
        Gauge("ktpel_pipeline_dead_jobs", "Jobs that exhausted their retries", registry=registry).set(
            session.scalar(select(func.count()).select_from(jobs).where(jobs.c.status == "dead")) or 0)
    runs = table("central_stage_runs", "stage", "duration_ms", "finished_at")
    if runs is not None:
        latency = Gauge("ktpel_pipeline_stage_latency_seconds", "Stage run time over the last hour",
                        ["stage", "quantile"], registry=registry)
        by_stage: dict[str, list[float]] = {}
        for stage, ms in session.execute(select(runs.c.stage, runs.c.duration_ms)
                                         .where(runs.c.finished_at >= now - dt.timedelta(hours=1)).limit(100_000)):
            by_stage.setdefault(stage, []).append(float(ms or 0) / 1000)
        for stage, values in by_stage.items():
            for q in (0.5, 0.9, 0.99):
                latency.labels(stage=stage, quantile=str(q)).set(percentile(values, q) or 0)
    adj = table("central_adjudications", "created_at", "decided_at")
    if adj is not None:
        n, oldest = session.execute(select(func.count(), func.min(adj.c.created_at))
                                    .where(adj.c.decided_at.is_(None))).one()
        Gauge("ktpel_adjudication_backlog", "Candidate pairs waiting for an adjudicator", registry=registry).set(n or 0)
        Gauge("ktpel_adjudication_oldest_seconds", "Age of the oldest waiting pair", registry=registry).set(
            _age(now, oldest))
    packets = table("central_packets", "office_code", "received_at")
    if packets is not None:
        last = Gauge("ktpel_office_last_packet_seconds", "Seconds since each office's last packet", ["office"],
                     registry=registry)
        for office, at in session.execute(select(packets.c.office_code, func.max(packets.c.received_at))
                                          .group_by(packets.c.office_code)):
            last.labels(office=office).set(_age(now, at))


def render_metrics(request: Request) -> bytes:
    registry = CollectorRegistry()
    now = utcnow()
    with request.app.state.db.unit_of_work() as s:
        if request.app.state.side == "office":
            office_metrics(s, registry, office_code=request.app.state.settings.office_regency, now=now)
        else:
            central_metrics(s, registry, now=now)
    return generate_latest(registry)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(public)])
def metrics(request: Request) -> Response:
    """Prometheus text format; loopback only (see module docstring)."""
    if not _loopback(request):
        raise HTTPException(status_code=403, detail="metrics are served on loopback only")
    return Response(render_metrics(request), media_type=CONTENT_TYPE_LATEST)


@router.get("/dasbor/grafik.js", include_in_schema=False, dependencies=[Depends(public)])
def dashboard_script() -> FileResponse:
    """The dashboards' chart script (a file, not inline: the Content-Security-Policy forbids inline scripts)."""
    return FileResponse(Path(__file__).with_name("dashboard.js"), media_type="text/javascript")


@router.get("/dasbor/gaya.css", include_in_schema=False, dependencies=[Depends(public)])
def dashboard_style() -> FileResponse:
    """The dashboards' style sheet (a file: the Content-Security-Policy forbids inline styles)."""
    return FileResponse(Path(__file__).with_name("dashboard.css"), media_type="text/css")
