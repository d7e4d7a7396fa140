"""Small builders: a resident with a queued enrollment, as the recording capability leaves it."""

from __future__ import annotations

import datetime as dt
import uuid

from ktpel.store.schema.core import EnrollmentRow, ResidentRow
from ktpel.office.sync.outbox import enqueue_packet


def queued_enrollment(session, *, n: int = 0) -> tuple[str, str]:  # noqa: ANN001
    """(enrollment id, packet id) of a resident just recorded and queued in one transaction."""
    resident = ResidentRow(
        nik=f"1801054{n:05d}0001"[:16].ljust(16, "0"), kk_number="1801050000000001", name=f"Warga {n}",
        birth_place="Kalianda", birth_date=dt.date(1990, 1, 1), sex="L", blood_type="O", street="Jl. Uji",
        rt="001", rw="002", village_code="18.01.05.2001", district_code="18.01.05", regency_code="18.01",
        religion="Islam", marital_status="Kawin", occupation="Petani", citizenship="WNI", family_role="Kepala",
    )
    session.add(resident)
    session.flush()
    enrollment_id = uuid.uuid4().hex
    session.add(EnrollmentRow(id=enrollment_id, resident_id=resident.id, office_code="18.01", state="QUEUED",
                              receipt_number=f"R{n:08d}{uuid.uuid4().hex[:6]}"))
    session.flush()
    packet_id = enqueue_packet(session, kind="enrollment", subject_id=enrollment_id,
                               payload={"nik": resident.nik, "face": "AAAA"})
    return enrollment_id, packet_id


def card_dict(*, enrollment_id: str, card_id: str = "card-1") -> dict:
    return {"card_id": card_id, "enrollment_id": enrollment_id, "nik": "1801054000010001", "name": "WARGA",
            "birth_place": "KALIANDA", "birth_date": "1990-01-01", "sex": "L", "blood_type": "O",
            "street": "JL. UJI", "rt": "001", "rw": "002", "village_code": "18.01.05.2001", "religion": "ISLAM",
            "marital_status": "KAWIN", "occupation": "PETANI", "citizenship": "WNI", "regency_code": "18.01",
            "issued_at": "2026-11-29"}


def national_record(session, *, enrollment_id: str, nik: str, name: str, office_code: str, face: bytes,  # noqa: ANN001
                    kk_number: str, state: str = "DUPLICATE"):
    """A recording as central holds it after the pipeline: demographics and the face image (PGM as uploaded)."""
    import base64
    import json

    from ktpel.store.schema.central import NationalRecordRow

    row = NationalRecordRow(
        id=enrollment_id, packet_id="P-" + enrollment_id, office_code=office_code, nik=nik, kk_number=kk_number,
        name=name, birth_place="KALIANDA", birth_date=dt.date(1990, 7, 5), sex="L", street="JL. UJI",
        templates="{}", images=json.dumps({"data": {"face": base64.b64encode(face).decode()},
                                           "types": {"face": "image/x-portable-graymap"}}), state=state)
    session.add(row)
    session.flush()
    return row
