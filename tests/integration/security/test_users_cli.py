"""`ktpel users …` against a real database: add, token, reset-password, disable; and the demo users."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ktpel.demo.users import create_central_demo_users, create_demo_users
from ktpel.web.app import create_app
from tests.auth_fixtures import login


@pytest.fixture
def cli(settings, monkeypatch):
    from ktpel.cli import app
    from ktpel.config import get_settings

    monkeypatch.setenv("KTPEL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KTPEL_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args, **kw: runner.invoke(app, list(args), **kw)
    get_settings.cache_clear()


def test_user_lifecycle_through_the_cli(cli, settings, db):
    added = cli("users", "add", "siti", "--role", "supervisor", "--regency", "18.01")
    assert added.exit_code == 0, added.output
    password = added.stdout.strip().splitlines()[-1]
    app = create_app(settings=settings, side="office", db=db)
    assert login(TestClient(app), "siti", password).status_code == 303
    assert cli("users", "add", "siti", "--role", "supervisor", "--regency", "18.01").exit_code == 2
    assert cli("users", "add", "x", "--role", "king").exit_code == 2
    assert cli("users", "add", "opr", "--role", "operator").exit_code == 2  # office user needs a regency
    weak = cli("users", "add", "budi", "--role", "operator", "--regency", "18.01", "--password-stdin", input="short\n")
    assert weak.exit_code == 2 and "minimal" in weak.output

    token = cli("users", "token", "siti", "--days", "7", "--label", "laporan")
    assert token.exit_code == 0
    secret = token.stdout.strip().splitlines()[-1]
    api = TestClient(app)
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["username"] == "siti"
    listed = cli("users", "token", "siti", "--list")
    assert '"state": "active"' in listed.stdout and secret not in listed.stdout
    token_id = int(listed.stdout.split('"id": ')[1].split(",")[0])
    assert cli("users", "token", "siti", "--revoke", str(token_id)).exit_code == 0
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401

    reset = cli("users", "reset-password", "siti")
    new_password = reset.stdout.strip().splitlines()[-1]
    assert reset.exit_code == 0 and new_password != password
    assert login(TestClient(app), "siti", password).status_code == 200  # old one refused
    client = TestClient(app)
    assert login(client, "siti", new_password).status_code == 303
    assert cli("users", "disable", "siti").exit_code == 0
    assert client.get("/api/v1/me").status_code == 401
    assert cli("users", "disable", "nobody").exit_code == 2


def test_demo_users_one_per_role_passwords_once(settings, db):
    first = create_demo_users(settings=settings, office_db=db)
    central = create_central_demo_users(settings=settings, central_db=db)
    roles = {r[2] for r in first} | {r[2] for r in central}
    assert roles == {"operator", "supervisor", "head", "auditor", "adjudicator", "center_admin"}
    again = create_demo_users(settings=settings, office_db=db)
    assert [r[1] for r in again] == [r[1] for r in first]
    assert all("shown at first start" in r[3] for r in again)
    office = create_app(settings=settings, side="office", db=db)
    _, name, _, password = first[0]
    assert login(TestClient(office), name, password).status_code == 303
