"""Issue 20 item 1: registering an office needs a one-time enrolment token for its regency (secure by default)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from typer.testing import CliRunner

from ktpel.domain.events import utcnow
from ktpel.security.access import Role
from ktpel.store.schema.sync import EnrolmentTokenRow, SyncOfficeRow
from ktpel.keys.keyring import KeyPair, init_keys
from ktpel.sync.registration import RegistrationFailed
from ktpel.central.sync.service import issue_enrolment_token
from ktpel.office.sync.service import register_with_central
from tests.auth_fixtures import authed_client


def _new_office(office_settings, tmp_path, code: str = "18.02"):  # noqa: ANN001, ANN202
    data = tmp_path / f"office-{code}"
    (data / "keys").mkdir(parents=True)
    settings = office_settings.model_copy(update={"data_dir": data, "office_regency": code})
    init_keys(settings, side="office")
    return settings


def _registered(central_db, code: str) -> bool:
    with central_db.unit_of_work() as s:
        return s.get(SyncOfficeRow, code) is not None


def test_without_a_token_no_new_office_can_register(linked, central_client, central_db, office_settings, tmp_path):
    newcomer = _new_office(office_settings, tmp_path)
    body = {"office_code": "18.02", "name": "Lampung Tengah", "keys": [KeyPair.generate().public().to_dict()]}
    r = central_client.post("/api/v1/sync/register", json=body)
    assert r.status_code == 403 and r.json()["code"] == "registration_failed"
    try:
        register_with_central(newcomer, central_url="http://central.test", client=central_client)
        raise AssertionError("registration without a token succeeded")
    except RegistrationFailed:
        pass
    assert not _registered(central_db, "18.02")


def test_a_token_works_once_and_only_for_its_regency(linked, central_client, central_db, office_settings, tmp_path):
    with central_db.unit_of_work() as s:
        token_02 = issue_enrolment_token(s, regency_code="18.02", issued_by="admin")
        expired = issue_enrolment_token(s, regency_code="18.04", issued_by="admin",
                                        now=utcnow() - dt.timedelta(hours=80))
    other = _new_office(office_settings, tmp_path, "18.03")
    r = central_client.post("/api/v1/sync/register", json={
        "office_code": "18.03", "keys": [k.to_dict() for k in _publics(other)], "token": token_02})
    assert r.status_code == 403  # a token for 18.02 does not enrol 18.03
    late = _new_office(office_settings, tmp_path, "18.04")
    r = central_client.post("/api/v1/sync/register", json={
        "office_code": "18.04", "keys": [k.to_dict() for k in _publics(late)], "token": expired})
    assert r.status_code == 403
    newcomer = _new_office(office_settings, tmp_path, "18.02")
    register_with_central(newcomer, central_url="http://central.test", token=token_02, client=central_client)
    assert _registered(central_db, "18.02")
    # re-sending the same keys is harmless; new keys with the spent token are refused
    register_with_central(newcomer, central_url="http://central.test", client=central_client)
    r = central_client.post("/api/v1/sync/register", json={
        "office_code": "18.02", "keys": [KeyPair.generate().public().to_dict()], "token": token_02})
    assert r.status_code == 403
    with central_db.unit_of_work() as s:
        row = s.scalar(select(EnrolmentTokenRow).where(EnrolmentTokenRow.regency_code == "18.02"))
        assert row.used_at is not None and token_02 not in row.token_hash  # only the hash is stored
    assert not _registered(central_db, "18.03") and not _registered(central_db, "18.04")


def _publics(settings):  # noqa: ANN001, ANN202
    from ktpel.keys.keyring import load_keyring

    return load_keyring(settings, side="office").publics()


def test_center_admin_issues_a_token_on_the_page_and_the_cli(linked, central_client, central_db, central_settings,
                                                             office_settings, tmp_path, monkeypatch):
    admin = authed_client(central_client.app, central_db, Role.CENTER_ADMIN)
    page = admin.post("/pusat/sinkron/token", data={"csrf_token": admin.csrf, "kabupaten": "18.02", "jam": "24"})
    assert page.status_code == 200
    token = re.search(r'id="new-token">(kte_[A-Za-z0-9_-]+)<', page.text).group(1)
    assert admin.post("/pusat/sinkron/token", data={"csrf_token": admin.csrf, "kabupaten": "Lampung"}).status_code == 422
    assert authed_client(central_client.app, central_db, Role.ADJUDICATOR).post(
        "/pusat/sinkron/token", data={"kabupaten": "18.02"}).status_code == 403
    register_with_central(_new_office(office_settings, tmp_path), central_url="http://central.test", token=token,
                          client=central_client)
    assert _registered(central_db, "18.02")

    from ktpel import config
    from ktpel.cli import app

    monkeypatch.setenv("KTPEL_DATA_DIR", str(central_settings.data_dir))
    monkeypatch.setenv("KTPEL_DATABASE_URL", central_settings.database_url)
    config.get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["central", "enrolment-token", "--regency", "18.05", "--hours", "2"])
        assert r.exit_code == 0, r.output
        cli_token = r.stdout.strip().splitlines()[0]
        assert cli_token.startswith("kte_")
    finally:
        config.get_settings.cache_clear()
    register_with_central(_new_office(office_settings, tmp_path, "18.05"), central_url="http://central.test",
                          token=cli_token, client=central_client)
    assert _registered(central_db, "18.05")
