"""Central pipeline fixtures: real templates from ../shared/data, packets in the office's format."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from pathlib import Path

import pytest

from ktpel.domain.clock import now as clock_now

FINGERS_USED = 4  # fingers 5–10 are declared exceptions: keeps extraction fast, still exercises them


class People:
    """Templates and images of a few synthetic people, extracted once per test session."""

    def __init__(self, shared: Path) -> None:
        from ktpel.biometrics import get_engine

        self.shared = shared
        self.engine = get_engine()
        self._cache: dict[tuple, dict] = {}

    def biometrics(self, *, person: int, impression: int) -> dict:
        """Face of ORL subject s<person> (photo <impression>) + four FVC fingers (people 1–4).

        FVC finger ids 101–110 are different fingers: people 1–2 use FVC2002 DB1_B, 3–4 FVC2000 DB4_B;
        impression i is the i-th capture of each finger: two impressions = one person recorded twice.
        """
        key = (person, impression)
        if key not in self._cache:
            face_path = self.shared / "faces" / "att_orl" / f"s{person}" / f"{impression}.pgm"
            face = face_path.read_bytes()
            templates = {"face": self.engine.extract_face(face).to_bytes()}
            images = {"face": face}
            for pos in range(1, FINGERS_USED + 1):
                fid = 100 + ((person - 1) % 2) * FINGERS_USED + pos
                base = "FVC2002_DB1_B" if person <= 2 else "FVC2000_DB4_B"
                img = (self.shared / "fingerprints" / base / f"{fid}_{impression}.tif").read_bytes()
                templates[f"finger_{pos}"] = self.engine.extract_finger(img, finger_position=pos).to_bytes()
                images[f"finger_{pos}"] = img
            self._cache[key] = {"templates": templates, "images": images}
        return self._cache[key]


@pytest.fixture(scope="session")
def people(shared_data) -> People:
    return People(shared_data)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_payload(bio: dict, *, nik: str, name: str, office_code: str = "18.01",
                 enrollment_id: str | None = None, birth_date: str = "1990-05-17", sex: str = "L",
                 templates: dict | None = None) -> dict:
    """An enrollment payload as office recording writes it (format ktpel.enrollment v1)."""
    eid = enrollment_id or "E-" + uuid.uuid4().hex[:16]
    exceptions = {f"finger_{i}": {"reason": "amputated", "note": "test"} for i in range(FINGERS_USED + 1, 11)}
    return {
        "format": "ktpel.enrollment", "version": 1, "enrollment_id": eid, "office_code": office_code,
        "receipt_number": "ABCD-EFGH-" + eid[-4:],
        "captured_at": clock_now().isoformat(), "operator": "op", "approved_by": None,
        "resident": {
            "nik": nik, "kk_number": "1801050101900001", "name": name, "birth_place": "Kalianda",
            "birth_date": birth_date, "sex": sex, "blood_type": "O", "street": "Jl. Raya 1", "rt": "001",
            "rw": "002", "village_code": "18.01.05.2001", "religion": "Islam", "marital_status": "Kawin",
            "occupation": "Petani", "citizenship": "WNI", "family_role": "Kepala Keluarga",
            "father_name": "Ahmad", "mother_name": "Siti", "regency_code": office_code[:5],
            "district_code": "18.01.05",
        },
        "quality": {}, "exceptions": exceptions,
        "templates": {k: b64(v) for k, v in (templates if templates is not None else bio["templates"]).items()},
        "images": {k: b64(v) for k, v in bio["images"].items()},
        "image_types": {k: ("image/x-portable-graymap" if k == "face" else "image/tiff") for k in bio["images"]},
    }


@pytest.fixture
def central(settings, db):
    """A central side: keys, a worker, and a helper that takes a packet in as intake does."""
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.central.pipeline.worker import Worker
    from ktpel.central.sync.intake import hold_packet, is_held
    from ktpel.keys.keyring import init_keys

    init_keys(settings, side="central")

    class Central:
        def __init__(self) -> None:
            self.worker = Worker(db=db, settings=settings, worker_id="w1")

        def receive(self, payload: dict, *, office_code: str | None = None, packet_id: str | None = None) -> str:
            """As sync's intake: the packet held as received, then the handler, in one transaction."""
            pid = packet_id or uuid.uuid4().hex
            office = office_code or payload.get("office_code", "18.01")
            subject = str(payload.get("enrollment_id", "x"))
            with db.unit_of_work() as s:
                if not is_held(s, packet_id=pid):  # a resend: sync answers with the stored receipt
                    now = clock_now()
                    hold_packet(s, packet_id=pid, office_code=office, kind="enrollment", subject_id=subject,
                                payload=payload, created_at=now, received_at=now, receipt={"packet_id": pid})
                handle_enrollment(s, packet_id=pid, office_code=office, kind="enrollment", subject_id=subject,
                                  payload=payload)
            return pid

        def events(self, *, office_code: str, kind: str | None = None) -> list[dict]:
            from ktpel.central.sync.events import events_after

            with db.unit_of_work() as s:
                evs = events_after(s, office_code=office_code, after=0, limit=1000)
            return [e for e in evs if kind is None or e["kind"] == kind]

    return Central()
