"""Builders for notification tests: a resident with phones and an enrollment, and a fake provider."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from ktpel.store.schema.core import EnrollmentRow, PhoneRow, ResidentRow

_serial = itertools.count(1)


def add_resident(session, *, name: str = "SITI AMINAH", phones: list[tuple[str, bool, bool]] | None = None,
                 state: str = "SENT", receipt: str | None = None, regency: str = "18.01",
                 failure_reason: str | None = None) -> tuple[ResidentRow, EnrollmentRow]:
    """One resident with `phones` as (E.164, takes_sms, consent) and one enrollment in `state`."""
    n = next(_serial)
    nik = f"180105{41 + n % 20:02d}0190{n % 10000:04d}"[:16]
    resident = ResidentRow(
        nik=nik, kk_number=f"18010512{n:08d}"[:16], name=name, birth_place="KALIANDA",
        birth_date=dt.date(1990, 1, 1 + n % 20), sex="P", blood_type="O", street="JL. MERDEKA 1", rt="001",
        rw="002", village_code="18.01.05.2001", district_code="18.01.05", regency_code=regency,
        religion="ISLAM", marital_status="KAWIN", occupation="PETANI", family_role="ISTRI",
    )
    session.add(resident)
    session.flush()
    for number, takes_sms, consent in phones if phones is not None else [("+6281234567801", True, True)]:
        session.add(PhoneRow(resident_id=resident.id, number=number, takes_sms=takes_sms, consent=consent))
    enrollment = EnrollmentRow(id=uuid.uuid4().hex, resident_id=resident.id, office_code=regency, state=state,
                               receipt_number=receipt or f"R{n:09d}{uuid.uuid4().hex[:6]}"[:20],
                               operator="op", failure_reason=failure_reason)
    session.add(enrollment)
    session.flush()
    return resident, enrollment


@pytest.fixture
def provider():
    from tests.fakes.sms_provider import FakeProvider

    fake = FakeProvider(stall_s=1.5).start()
    yield fake
    fake.stop()
