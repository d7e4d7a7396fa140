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


def photo_case(*, db, central_db, office, faces, other_kk: str, our_state: str):  # noqa: ANN001, ANN201
    """A data-ganda case at central between a card recorded at this office (`office`, a printing test Office)
    and another office's record of the same BUDI: (case_id, our enrollment id, our NIK, our KK number)."""
    from sqlalchemy import select

    from ktpel.central.resolution.service import open_case_from_adjudication
    from ktpel.store.schema.core import CardRow

    ours = (faces / "s2" / "1.pgm").read_bytes()
    card = office.card(name="BUDI", captures={"face": (ours, None)})
    with db.unit_of_work() as s:
        eid, nik, kk = s.execute(select(EnrollmentRow.id, ResidentRow.nik, ResidentRow.kk_number)
                                 .join(CardRow, CardRow.enrollment_id == EnrollmentRow.id)
                                 .join(ResidentRow, ResidentRow.id == EnrollmentRow.resident_id)
                                 .where(CardRow.id == card)).one()
    with central_db.unit_of_work() as s:
        here = national_record(s, enrollment_id=eid, nik=nik, name="BUDI", office_code="18.01", face=ours,
                               kk_number=kk, state=our_state)
        there = national_record(s, enrollment_id="E-lain-1", nik="1871010507909001", name="BUDI",
                                office_code="18.71", face=(faces / "s3" / "1.pgm").read_bytes(), kk_number=other_kk)
        case_id = open_case_from_adjudication(s, record=there, candidate=here, adjudication_id="ADJ-1",
                                              opened_by="adj-uji").id
    return case_id, eid, nik, kk
