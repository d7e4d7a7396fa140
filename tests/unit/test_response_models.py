"""API routes declare what they answer: the OpenAPI document names a response schema for every JSON answer."""

from __future__ import annotations

import pytest

from ktpel.config import Settings
from ktpel.web.app import create_app


class _NoDatabase:
    """The OpenAPI document needs routes only; nothing is queried."""

    url = "none"


def _json_answers(app) -> list[tuple[str, str, str, dict]]:  # noqa: ANN001
    """(method, path, status, schema) of every success answer the document says is JSON."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None:
                    found.append((method, path, status, schema))
    return found


@pytest.mark.parametrize("side", ["office", "central"])
def test_every_json_route_names_its_response_model(side, tmp_path):
    app = create_app(settings=Settings(data_dir=tmp_path), side=side, db=_NoDatabase())
    answers = _json_answers(app)
    assert len({(m, p) for m, p, _, _ in answers}) >= (25 if side == "office" else 15)  # the API is there
    bare = [f"{m.upper()} {p} ({s}): {schema}" for m, p, s, schema in answers if "$ref" not in schema]
    assert not bare, "JSON routes without a response model:\n" + "\n".join(bare)


@pytest.mark.parametrize("side", ["office", "central"])
def test_every_api_operation_lists_its_problem_answers(side, tmp_path):
    app = create_app(settings=Settings(data_dir=tmp_path), side=side, db=_NoDatabase())
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            problem = operation["responses"].get("422", {}).get("content", {}).get("application/problem+json")
            assert problem == {"schema": {"$ref": "#/components/schemas/Problem"}}, f"{method} {path}"
