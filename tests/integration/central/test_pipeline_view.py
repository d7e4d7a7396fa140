"""The pipeline view: per-stage counts, dead letters with their error, and the retry button."""

from __future__ import annotations

from sqlalchemy import select

from ktpel.security.access import Role
from ktpel.store.schema.central import PipelineJobRow
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client


def test_dead_letter_is_visible_and_can_be_retried(settings, db, central):
    central.receive({"format": "ktpel.enrollment", "version": 7, "enrollment_id": "E-x"})
    [out] = central.worker.drain()
    assert out.status == "dead"
    admin = authed_client(create_app(settings=settings, side="central", db=db), db, Role.CENTER_ADMIN)
    page = admin.get("/pipeline")
    assert page.status_code == 200 and "unknown format/version" in page.text and "Ulangi" in page.text
    stats = admin.get("/api/v1/pipeline").json()
    validate = next(s for s in stats["stages"] if s["stage"] == "validate")
    assert validate["failed"] == 1 and validate["queued"] == 0
    assert stats["dead_letters"][0]["record_id"] == "E-x"
    with db.unit_of_work() as s:
        job_id = s.scalars(select(PipelineJobRow.id)).one()
    resp = admin.post(f"/pipeline/jobs/{job_id}/ulang", data={"csrf_token": admin.csrf}, follow_redirects=False)
    assert resp.status_code == 303
    stats = admin.get("/api/v1/pipeline").json()
    validate = next(s for s in stats["stages"] if s["stage"] == "validate")
    assert validate["queued"] == 1 and validate["failed"] == 0 and validate["oldest_age_s"] is not None
    again = admin.post(f"/api/v1/pipeline/jobs/{job_id}/retry", headers={"X-CSRF-Token": admin.csrf})
    assert again.status_code == 409 and again.json()["code"] == "job_not_dead"
    from ktpel.store.schema.security import AuditEntryRow

    with db.unit_of_work() as s:
        assert s.scalars(select(AuditEntryRow.actor).where(
            AuditEntryRow.action == "pipeline.retry_dead_letter")).all() == [admin.username]
