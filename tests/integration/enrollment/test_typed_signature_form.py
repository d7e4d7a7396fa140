"""The counter form's typed signature: drawn by the server, marked typed; typed and drawn at once is refused."""

from __future__ import annotations

import pytest

from ktpel.store.schema.core import EnrollmentRow, ResidentRow
from ktpel.store.schema.enrollment import EnrollmentCaptureRow
from tests.integration.enrollment.conftest import capture_set


def _post(office, nik: str, images: dict[str, bytes], **data):  # noqa: ANN001, ANN202
    files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in images.items()]
    return office.client.post(f"/rekam/{nik}", headers=office.headers(), files=files,
                              data={"form_token": f"t-{nik}", **data}, follow_redirects=False)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_typed_name_becomes_the_signature_and_the_record_says_typed(office, images):
    from sqlalchemy import select

    nik = office.unrecorded_niks(1)[0]
    resp = _post(office, nik, capture_set(images, signature=None), signature_typed="  Siti  Aminah ")
    assert resp.status_code == 303, resp.text[:400]
    with office.db.unit_of_work() as s:
        row = s.scalar(select(EnrollmentRow).join(ResidentRow, ResidentRow.id == EnrollmentRow.resident_id)
                       .where(ResidentRow.nik == nik))
        sig = s.scalar(select(EnrollmentCaptureRow).where(EnrollmentCaptureRow.enrollment_id == row.id,
                                                          EnrollmentCaptureRow.kind == "signature"))
        assert row.quality["signature"] == {"ok": True, "typed": True}
        assert sig.content_type == "image/png" and sig.image.startswith(b"\x89PNG")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_typed_and_uploaded_at_once_is_refused_and_nothing_is_written(office, images):
    nik = office.unrecorded_niks(1)[0]
    before = office.count(EnrollmentRow)
    resp = _post(office, nik, capture_set(images), signature_typed="Siti Aminah")
    assert resp.status_code == 422 and "sekaligus diketik" in resp.text
    assert office.count(EnrollmentRow) == before and office.count(EnrollmentCaptureRow) == 0
    # the typed text comes back in the form, and no signature image was kept in the draft
    assert 'value="Siti Aminah"' in resp.text
