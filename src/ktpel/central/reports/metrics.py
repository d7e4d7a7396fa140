"""Central's Prometheus gauges (`/metrics`): pipeline queue and latency, adjudication backlog, offices' last packet."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.reports.metrics import age, metrics_router
from ktpel.reports.period import percentile
from ktpel.reports.sources import table


def central_metrics(session: Session, registry: CollectorRegistry, *, settings: Settings, now: dt.datetime) -> None:
    jobs = table("central_jobs", "stage", "status", "enqueued_at")
    if jobs is not None:
        depth = Gauge("ktpel_pipeline_queue_depth", "Pipeline jobs waiting or running, by stage", ["stage"],
                      registry=registry)
        for stage, n in session.execute(select(jobs.c.stage, func.count())
                                        .where(jobs.c.status.in_(("queued", "running"))).group_by(jobs.c.stage)):
            depth.labels(stage=stage).set(n)
        oldest = session.scalar(select(func.min(jobs.c.enqueued_at)).where(jobs.c.status.in_(("queued", "running"))))
        Gauge("ktpel_pipeline_oldest_seconds", "Age of the oldest unfinished pipeline job", registry=registry).set(
            age(now, oldest))
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
            age(now, oldest))
    packets = table("central_packets", "office_code", "received_at")
    if packets is not None:
        last = Gauge("ktpel_office_last_packet_seconds", "Seconds since each office's last packet", ["office"],
                     registry=registry)
        for office, at in session.execute(select(packets.c.office_code, func.max(packets.c.received_at))
                                          .group_by(packets.c.office_code)):
            last.labels(office=office).set(age(now, at))


router = metrics_router(central_metrics)
