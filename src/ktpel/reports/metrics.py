"""Prometheus metrics (`/metrics`), the route both sides serve; each side's gauges are in its own
`reports/metrics.py` (office: queue depths, sync lag, blank stock; central: pipeline latency, backlogs).

Who may read it: anyone on the loopback interface, nobody else (403). A scraper runs on the same host
(or a sidecar that forwards to it); the figures carry no personal data, but queue sizes of a civil
registry are still nobody else's business, and a token would be one more secret to rotate per office.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Callable

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pathlib import Path

from ktpel.domain.events import utcnow
from ktpel.reports.sources import as_utc
from ktpel.security.access import public

router = APIRouter()  # the dashboards' static files, on both sides


def age(now: dt.datetime, at: dt.datetime | None) -> float:
    return 0.0 if at is None else max(0.0, (now - as_utc(at)).total_seconds())


# fn(session, registry, *, settings, now): one side's gauges, handed to `metrics_router` by its composition
Collector = Callable[..., None]


def render_metrics(request: Request, *, collect: Collector) -> bytes:
    registry = CollectorRegistry()
    with request.app.state.db.unit_of_work() as s:
        collect(s, registry, settings=request.app.state.settings, now=utcnow())
    return generate_latest(registry)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_router(collect: Collector) -> APIRouter:
    """`/metrics` for one side, with that side's gauges."""
    side_router = APIRouter()

    @side_router.get("/metrics", include_in_schema=False, dependencies=[Depends(public)])
    def metrics(request: Request) -> Response:
        """Prometheus text format; loopback only (see module docstring)."""
        if not _loopback(request):
            raise HTTPException(status_code=403, detail="metrics are served on loopback only")
        return Response(render_metrics(request, collect=collect), media_type=CONTENT_TYPE_LATEST)

    return side_router


@router.get("/dasbor/grafik.js", include_in_schema=False, dependencies=[Depends(public)])
def dashboard_script() -> FileResponse:
    """The dashboards' chart script (a file, not inline: the Content-Security-Policy forbids inline scripts)."""
    return FileResponse(Path(__file__).with_name("dashboard.js"), media_type="text/javascript")


@router.get("/dasbor/gaya.css", include_in_schema=False, dependencies=[Depends(public)])
def dashboard_style() -> FileResponse:
    """The dashboards' style sheet (a file: the Content-Security-Policy forbids inline styles)."""
    return FileResponse(Path(__file__).with_name("dashboard.css"), media_type="text/css")
