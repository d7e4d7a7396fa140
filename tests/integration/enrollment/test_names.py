"""Dukcapil's name rule on every path: API, counter form, bulk import and central's packet intake (item 10)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ktpel.central.pipeline.payload import PoisonPacket, parse
from ktpel.office.enrollment.bulk import import_folder
from ktpel.office.enrollment.samples import write_sample_folder
from ktpel.security.access import Role, User
from ktpel.store.schema.core import EnrollmentRow, ResidentRow
from tests.integration.enrollment.conftest import capture_set

HOSTILE = ["SITI\u202eHANIMA", "SITI\u200dAMINAH", "SITI \U0001F600", "SITI\x07AMINAH", "AGUS 2"]


@pytest.mark.parametrize("name", HOSTILE, ids=["bidi", "zwj", "emoji", "control", "digit"])
def test_the_api_refuses_names_outside_the_rule(office, images, name):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images), name=name)
    assert resp.status_code == 422, resp.text[:300]
    assert office.count(EnrollmentRow) == 0


def test_the_api_stores_the_normalised_name(office, images):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images), name="  siti   ma'rufah ")
    assert resp.status_code == 201, resp.text[:300]
    with office.db.unit_of_work() as s:
        assert s.scalars(select(ResidentRow.name).where(ResidentRow.nik == nik)).one() == "SITI MA'RUFAH"


def test_the_counter_form_refuses_a_bidi_override(office, images):
    nik = office.unrecorded_niks(1)[0]
    files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in capture_set(images).items()]
    resp = office.client.post(f"/rekam/{nik}", headers=office.headers(), files=files,
                              data={"form_token": "t-form", "name": "SITI\u202eHANIMA"})
    assert resp.status_code == 422
    assert "huruf latin" in resp.text
    assert office.count(EnrollmentRow) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bulk_import_refuses_a_hostile_name(office, tmp_path, regions):
    niks = office.unrecorded_niks(1)
    folder = write_sample_folder(shared_data=office.settings.shared_data, niks=niks, target=tmp_path / "batch")
    (folder / niks[0] / "resident.json").write_text(json.dumps({"name": "SITI\u200bAMINAH"}), encoding="utf-8")
    report = import_folder(office.db, settings=office.settings, regions=regions, folder=folder,
                           operator=User(id=1, username="op1", role=Role.OPERATOR, regency_code="18.01"))
    assert report.recorded == [] and [f["nik"] for f in report.failed] == niks


def _payload(name: str) -> dict:
    return {"format": "ktpel.enrollment", "version": 1, "enrollment_id": "e1", "office_code": "18.01",
            "captured_at": "2026-11-30T01:00:00+00:00",
            "resident": {"nik": "1801014107900001", "name": name, "birth_place": "KALIANDA",
                         "birth_date": "1990-07-01", "sex": "P"},
            "templates": {}, "images": {}, "exceptions": {}}


@pytest.mark.parametrize("name", HOSTILE)
def test_central_intake_dead_letters_a_packet_with_a_hostile_name(name):
    with pytest.raises(PoisonPacket):
        parse(_payload(name), packet_office="18.01", subject_id="e1")
    assert parse(_payload(" siti  aminah"), packet_office="18.01", subject_id="e1").resident["name"] == "SITI AMINAH"
