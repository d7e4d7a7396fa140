"""Ids beyond the database's integers get 422 problems, not 500s (issue 20, item 6)."""

from __future__ import annotations

import pytest

from ktpel.security.access import Role
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client


@pytest.mark.parametrize("job_id", [10**19, 2**63, 2**35])
def test_retry_of_a_job_id_beyond_the_column_is_refused(settings, db, job_id):
    admin = authed_client(create_app(settings=settings, side="central", db=db), db, Role.CENTER_ADMIN)
    resp = admin.post(f"/api/v1/pipeline/jobs/{job_id}/retry", headers={"X-CSRF-Token": admin.csrf})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    page = admin.post(f"/pipeline/jobs/{job_id}/ulang", data={"csrf_token": admin.csrf})
    assert 400 <= page.status_code < 500
