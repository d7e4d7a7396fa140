"""Malformed requests get a 4xx problem (never a 500) and store nothing (issue 20, items 6 and 7)."""

from __future__ import annotations

import json

import pytest

from ktpel.store.schema.core import EnrollmentRow
from tests.integration.enrollment.conftest import capture_set

PROBLEM = "application/problem+json"


def _is_client_problem(resp) -> bool:  # noqa: ANN001
    return 400 <= resp.status_code < 500 and resp.headers["content-type"].startswith(PROBLEM)


def _post_raw_demographics(office, raw: str, images: dict[str, bytes]):  # noqa: ANN001, ANN202
    files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in images.items()]
    return office.client.post("/api/v1/enrollments", headers=office.headers(), data={"demographics": raw},
                              files=files)


@pytest.mark.parametrize("raw", [
    '{"nik": "x", "phones": ' + "[" * 5000 + "]" * 5000 + "}",  # recursion
    '{"nik": "x", "exceptions": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}",
], ids=["nested-list", "nested-object"])
def test_deeply_nested_json_is_refused(office, images, raw):
    resp = _post_raw_demographics(office, raw, capture_set(images))
    assert _is_client_problem(resp), (resp.status_code, resp.text[:300])
    assert office.count(EnrollmentRow) == 0


@pytest.mark.parametrize("demo", [
    {"missing_fingers": {"abc": "amputasi"}},
    {"missing_fingers": {"99": "amputasi"}},
    {"missing_fingers": ["7"]},
    {"exceptions": [1, 2]},
    {"exceptions": {"finger_3": 7}},
    {"phones": [1, 2]},
    {"phones": "0812"},
    {"override_low_quality": {"x": 1}},
], ids=lambda d: json.dumps(d))
def test_wrongly_typed_fields_get_422_with_the_field_named(office, images, demo):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images), **demo)
    assert resp.status_code == 422 and resp.headers["content-type"].startswith(PROBLEM), resp.text[:300]
    assert office.count(EnrollmentRow) == 0


def test_a_lone_surrogate_is_refused_before_any_biometric_work(office, images, monkeypatch):
    import ktpel.biometrics as biometrics

    calls = []
    monkeypatch.setattr(biometrics, "get_engine", lambda: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    nik = office.unrecorded_niks(1)[0]
    raw = '{"nik": "%s", "name": "SITI \\ud800 AMINAH"}' % nik
    resp = _post_raw_demographics(office, raw, capture_set(images))
    assert resp.status_code in (400, 422) and resp.headers["content-type"].startswith(PROBLEM), resp.text[:300]
    assert calls == [] and office.count(EnrollmentRow) == 0


def test_nul_in_a_multipart_field_is_refused_with_400(office, images):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images), occupation="PETANI\x00; DROP")
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["code"] == "bad_characters"
    # a plain multipart text part too (not only inside the JSON)
    files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in capture_set(images).items()]
    resp = office.client.post("/api/v1/enrollments", headers=office.headers(), files=files,
                              data={"demographics": json.dumps({"nik": nik}), "note": "a\x00b"})
    assert resp.status_code == 400 and resp.json()["code"] == "bad_characters"
    assert office.count(EnrollmentRow) == 0


def test_nul_in_a_counter_form_field_is_refused_with_400(office, images):
    nik = office.unrecorded_niks(1)[0]
    files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in capture_set(images).items()]
    resp = office.client.post(f"/rekam/{nik}", headers=office.headers(), files=files,
                              data={"form_token": "t", "occupation": "PETANI\x00"})
    assert resp.status_code == 400
    assert office.count(EnrollmentRow) == 0


@pytest.mark.parametrize("path", ["/penduduk?q=a&page=9223372036854775808", "/rekam?q=a&page=9223372036854775808",
                                  "/api/v1/residents?q=a&page=9223372036854775808",
                                  "/api/v1/residents?q=a&page=9223372036854775807&page_size=200"])
def test_huge_page_numbers_are_refused(office, path):
    resp = office.client.get(path, headers=office.headers())
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("meta", ["[1, 2]", '{"phones": ' + "[" * 5000 + "]" * 5000 + "}", '{"missing_fingers": {"abc": "x"}}'],
                         ids=["list", "nested", "bad-key"])
def test_bulk_import_reports_a_malformed_resident_json_and_goes_on(office, tmp_path, regions, meta):
    from ktpel.office.enrollment.bulk import import_folder
    from ktpel.office.enrollment.samples import write_sample_folder
    from ktpel.security.access import Role, User

    niks = office.unrecorded_niks(2)
    folder = write_sample_folder(shared_data=office.settings.shared_data, niks=niks, target=tmp_path / "batch")
    (folder / niks[0] / "resident.json").write_text(meta, encoding="utf-8")
    report = import_folder(office.db, settings=office.settings, regions=regions, folder=folder,
                           operator=User(id=1, username="op1", role=Role.OPERATOR, regency_code="18.01"))
    assert len(report.recorded) == 1
    assert [(f["nik"], f["code"]) for f in report.failed] == [(niks[0], "demographics_invalid")]
