"""API routes declare what they answer: the OpenAPI document names a response schema for them."""

from __future__ import annotations

import pytest

from ktpel.config import Settings
from ktpel.web.app import create_app

# routes whose answer is a declared model (the rest: docs/CONTRACTS.md, "Next moves")
DECLARED = {
    "office": [("post", "/api/v1/enrollments"), ("get", "/api/v1/enrollments/{enrollment_id}"),
               ("get", "/api/v1/sync/status"), ("get", "/api/v1/health")],
    "central": [("get", "/api/v1/pipeline"), ("post", "/api/v1/pipeline/jobs/{job_id}/retry"),
                ("get", "/api/v1/health"),
                ("get", "/api/v1/sync/duplicate-cases/{case_id}/records/{enrollment_id}/face")],
}


class _NoDatabase:
    """The OpenAPI document needs routes only; nothing is queried."""

    url = "none"


@pytest.mark.parametrize("side", sorted(DECLARED))
def test_declared_routes_name_their_response_schema(side, tmp_path):
    app = create_app(settings=Settings(data_dir=tmp_path), side=side, db=_NoDatabase())
    paths = app.openapi()["paths"]
    for method, path in DECLARED[side]:
        answers = paths[path][method]["responses"]
        ok = next(code for code in answers if code.startswith("2"))
        schema = answers[ok]["content"]["application/json"]["schema"]
        assert "$ref" in schema, f"{method.upper()} {path} declares no response model: {schema}"
