"""The OpenAPI documents of both servers: every operation declares its problem responses.

Every `/api/` error is an RFC 9457 problem (`application/problem+json`, see web/problems.py and the
security middleware), so each operation lists the ones it can answer with: 400 (bad characters,
malformed), 401 (no or bad credentials), 403 (role, CSRF), 404, 413 (body too large), 422 (validation,
FastAPI's own replaced: our handler answers it as a problem too), 429 (rate limits) and 503 (busy).
The fuzzing gate (tests/integration/security/test_api_fuzz.py) checks the answers against this.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict


class FieldProblem(BaseModel):
    model_config = ConfigDict(extra="allow")

    loc: list[Any] | None = None
    code: str | None = None
    message_id: str | None = None
    message_en: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with ktpel's stable `code` and the Bahasa Indonesia message."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    message_id: str | None = None
    errors: list[FieldProblem] | None = None


PROBLEM_STATUSES = {
    "400": "Malformed request (e.g. NUL characters, unreadable body)",
    "401": "Not signed in, or the bearer token/signature is not valid",
    "403": "The caller's role may not do this, or the CSRF token is missing",
    "404": "Not found (or not of this office)",
    "413": "Request body or an uploaded file is too large",
    "422": "The request is not valid; `errors` names the fields",
    "429": "Too many requests; retry after the Retry-After header",
    "503": "Busy (load shedding or image decoding); retry after the Retry-After header",
}
_REF = {"$ref": "#/components/schemas/Problem"}


def inline_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema with nested models written in place (no references to resolve)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):  # noqa: ANN001, ANN202
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node
    return resolve(schema)


def _document(app: FastAPI) -> dict:
    spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schemas["Problem"].pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in PROBLEM_STATUSES.items():
                responses[status] = {"description": description,
                                     "content": {"application/problem+json": {"schema": _REF}}}
    return spec


def install(app: FastAPI) -> None:
    """Generate (once) the document with the problem responses added to every operation."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
