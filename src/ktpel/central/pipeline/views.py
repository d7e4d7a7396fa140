"""Pipeline view for the data-center operator (center_admin): stages, throughput, dead letters."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ktpel.central.pipeline import service
from ktpel.security.access import Role, User, requires
from ktpel.web.responses import redirect
from ktpel.web.templating import render
from ktpel.central.pipeline.schemas import PipelineStats, RetriedJob

router = APIRouter()
admins = requires(Role.CENTER_ADMIN)


@router.get("/pipeline", include_in_schema=False, dependencies=[Depends(admins)])
def pipeline_page(request: Request, retried: int | None = None):  # noqa: ANN201
    with request.app.state.db.unit_of_work() as s:
        stats = service.pipeline_stats(s)
        dead = service.dead_letters(s)
    return render(request, "central/pipeline.html", {"stats": stats, "dead": dead, "retried": retried})


@router.post("/pipeline/jobs/{job_id}/ulang", include_in_schema=False)
def retry(job_id: int, request: Request, user: User = Depends(admins)):  # noqa: ANN201
    """Send a dead letter back to the queue."""
    with request.app.state.db.unit_of_work() as s:
        service.retry_dead_letter(s, job_id=job_id, actor=user.username,
                                  source_ip=request.client.host if request.client else None)
    return redirect(f"/pipeline?retried={job_id}")


@router.get("/api/v1/pipeline", tags=["pipeline"], dependencies=[Depends(admins)], response_model=PipelineStats)
def api_stats(request: Request) -> dict:
    """Per stage queued / in progress / failed, throughput per minute, oldest item age, dead letters."""
    with request.app.state.db.unit_of_work() as s:
        stats = service.pipeline_stats(s)
        dead = service.dead_letters(s)
        return {
            "stages": [st.__dict__ for st in stats["stages"]], "outcomes": stats["outcomes"],
            "decisions_per_minute": stats["decisions_per_minute"], "window_minutes": stats["window_minutes"],
            "dedup_model": stats["model"],
            "dead_letters": [{"id": j.id, "packet_id": j.packet_id, "record_id": j.record_id,
                              "office_code": j.office_code, "stage": j.stage, "attempts": j.attempts,
                              "error": j.last_error} for j in dead],
        }


@router.post("/api/v1/pipeline/jobs/{job_id}/retry", tags=["pipeline"], response_model=RetriedJob)
def api_retry(job_id: int, request: Request, user: User = Depends(admins)) -> dict:
    with request.app.state.db.unit_of_work() as s:
        job = service.retry_dead_letter(s, job_id=job_id, actor=user.username,
                                        source_ip=request.client.host if request.client else None)
        return {"id": job.id, "status": job.status, "stage": job.stage}
