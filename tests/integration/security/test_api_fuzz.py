"""The fuzzing gate: schemathesis against both OpenAPI documents, anonymous and with every role's token.

Every operation of the office and the central app gets generated requests (valid by its schema, and
deliberately invalid ones), sent in process (ASGI) once per caller: anonymous and a bearer token of each
role of that side. The gate is 0 server errors (5xx or an exception), and every problem answer is
`application/problem+json`. Bounded: FUZZ_EXAMPLES per operation and mode, a fixed seed (derandomize), no
example database, so a run is repeatable and takes about a minute per side on 2 cores.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from ktpel.security.access import CENTRAL_ROLES, OFFICE_ROLES
from ktpel.security.service import issue_token
from tests.auth_fixtures import make_user

FUZZ_EXAMPLES = int(os.environ.get("KTPEL_FUZZ_EXAMPLES", "6"))
pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def _tokens(db, side: str, regency: str) -> dict[str, str | None]:  # noqa: ANN001
    out: dict[str, str | None] = {"anonymous": None}
    for role in sorted(OFFICE_ROLES if side == "office" else CENTRAL_ROLES, key=lambda r: r.value):
        username, _ = make_user(db, role=role, regency_code=regency)
        with db.unit_of_work() as s:
            out[role.value] = issue_token(s, username=username)[1]
    return out


def _ctype(resp) -> str:  # noqa: ANN001
    value = resp.headers.get("content-type") or resp.headers.get("Content-Type") or ""
    return value[0] if isinstance(value, list) else value


def _declared(case) -> set[str]:  # noqa: ANN001
    """Statuses the operation documents (503 busy everywhere, 504 for the scanner's wait): answers, not errors."""
    return set(case.operation.definition.raw.get("responses", {}))


def _bounded(case) -> None:  # noqa: ANN001
    # the scanner route waits for a finger up to `timeout` seconds (at most 30): keep the gate fast
    if case.operation.path.startswith("/api/v1/scanner/") and isinstance(case.query, dict):
        case.query["timeout"] = 0.01


def _fuzz(app, tokens: dict[str, str | None]) -> tuple[int, list[str]]:  # noqa: ANN001
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls = [0]
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hsettings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                       phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:  # noqa: ANN001
                _bounded(case)
                for who, token in tokens.items():
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    calls[0] += 1
                    try:
                        resp = case.call(headers=headers)
                    except Exception as exc:  # noqa: BLE001 - the app raised: a server error
                        failures.append(f"{who} {case.method} {case.formatted_path}: {type(exc).__name__}: {exc}"
                                        f"\n  {case.as_curl_command()[:400]}")
                        continue
                    if resp.status_code >= 500 and str(resp.status_code) not in _declared(case):
                        failures.append(f"{who} {case.method} {case.formatted_path} -> {resp.status_code}"
                                        f"\n  {case.as_curl_command()[:400]}")
                    elif resp.status_code >= 400 and case.path.startswith("/api/") \
                            and not _ctype(resp).startswith("application/problem+json"):
                        failures.append(f"{who} {case.method} {case.formatted_path} -> {resp.status_code} "
                                        f"as {_ctype(resp)} (not a problem)")

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break: no parameters, no body
    return calls[0], failures


def test_office_api_fuzz_finds_no_server_error(settings, db, regions, names):
    from ktpel.seeding.service import seed_district
    from ktpel.web.app import create_app

    seed_district(db, regions=regions, names=names, regency_code=settings.office_regency, residents=20, seed=3,
                  today=dt.date(2026, 11, 29))
    app = create_app(settings=settings, side="office", db=db)
    calls, failures = _fuzz(app, _tokens(db, "office", settings.office_regency))
    assert calls > 500
    assert not failures, f"{len(failures)} of {calls} calls failed:\n" + "\n".join(failures[:30])


def test_central_api_fuzz_finds_no_server_error(settings, db):
    from ktpel.web.app import create_app

    app = create_app(settings=settings, side="central", db=db)
    calls, failures = _fuzz(app, _tokens(db, "central", settings.office_regency))
    assert calls > 200
    assert not failures, f"{len(failures)} of {calls} calls failed:\n" + "\n".join(failures[:30])
