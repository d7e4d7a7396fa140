"""Builders for printing tests: residents with a print-ready enrollment and a card central authorised."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest

from ktpel.domain.enrollment import CardState
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow

_serials = itertools.count(1)


class Office:
    """Makes residents whose cards are AUTHORISED with a token signed by this test's central key."""

    def __init__(self, db, settings) -> None:
        from ktpel.keys.keyring import central_signing_key, init_keys

        init_keys(settings, side="central")
        self.db, self.settings = db, settings
        self.signing = central_signing_key(settings)

    def card(self, *, birth_date: dt.date = dt.date(1990, 7, 5), sex: str = "P", state: str = "AUTHORISED",
             name: str = "SITI RAHAYU", token: str | None = None, revoked: bool = False,
             captures: dict[str, tuple[bytes, bytes | None]] | None = None) -> str:
        """A resident with an AUTHORISED card; `captures` maps kind → (image, template) enrolled."""
        from ktpel.sync.authorisation import issue

        n = next(_serials)
        day = birth_date.day + (40 if sex == "P" else 0)
        nik = f"180105{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{n % 10000:04d}"
        card_id, enrollment_id = "C" + uuid.uuid4().hex[:15], "E" + uuid.uuid4().hex[:15]
        signed = {
            "card_id": card_id, "enrollment_id": enrollment_id, "nik": nik, "name": name,
            "birth_place": "KALIANDA", "birth_date": birth_date.isoformat(), "sex": sex, "blood_type": "O",
            "street": "JL. LINTAS SUMATERA NO. 12", "rt": "003", "rw": "001", "village_code": "18.01.05.2001",
            "religion": "ISLAM", "marital_status": "KAWIN", "occupation": "PETANI/PEKEBUN",
            "citizenship": "WNI", "regency_code": "18.01", "issued_at": "2026-11-29",
        }
        with self.db.unit_of_work() as s:
            r = ResidentRow(nik=nik, kk_number=f"180105{n:010d}", name=name, birth_place="KALIANDA",
                            birth_date=birth_date, sex=sex, blood_type="O", street=signed["street"], rt="003",
                            rw="001", village_code="18.01.05.2001", district_code="18.01.05",
                            regency_code="18.01", religion="ISLAM", marital_status="KAWIN",
                            occupation="PETANI/PEKEBUN", citizenship="WNI", family_role="KEPALA KELUARGA",
                            father_name="", mother_name="", revoked=revoked)
            s.add(r)
            s.flush()
            s.add(EnrollmentRow(id=enrollment_id, resident_id=r.id, office_code="18.01",
                                state="PRINT_READY", receipt_number="R" + uuid.uuid4().hex[:12]))
            s.flush()
            s.add(CardRow(id=card_id, enrollment_id=enrollment_id, resident_id=r.id, state=state,
                          authorisation=token if token is not None else issue(signing_key=self.signing,
                                                                                card=signed)))
            for kind, (image, template) in (captures or {}).items():
                from ktpel.store.schema.enrollment import EnrollmentCaptureRow

                s.add(EnrollmentCaptureRow(enrollment_id=enrollment_id, kind=kind, content_type="image/tiff",
                                           image=image, template=template))
        return card_id


@pytest.fixture
def office(db, settings) -> Office:
    return Office(db, settings)


def pdf_content(pdf: bytes) -> str:
    """The page content streams of a reportlab PDF, inflated, so tests can read what is drawn."""
    import base64
    import re
    import zlib

    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\s*endstream", pdf, re.S):
        data = m.group(1).strip()
        if data.endswith(b"~>"):  # reportlab wraps Flate in ASCII85
            data = base64.a85decode(data[:-2].replace(b"\n", b""))
        try:
            out.append(zlib.decompress(data).decode("latin-1"))
        except zlib.error:
            out.append(data.decode("latin-1"))
    return "\n".join(out)
