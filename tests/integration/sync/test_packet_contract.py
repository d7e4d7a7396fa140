"""The core seam, end to end: the office's REAL packet writer feeds central's REAL intake and pipeline.

A resident is recorded through the office API (real images, real templates); the packet the office
wrote goes through sync to central's intake, the pipeline decides, and the decision comes back. Nothing
here builds a payload by hand: a field the office writes and central cannot read fails this test.
"""

from __future__ import annotations

import datetime as dt
import io
import json

from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import select

from ktpel.central.pipeline.payload import parse
from ktpel.central.pipeline.worker import Worker
from ktpel.office import composition as office_composition
from ktpel.packets.enrollment import CURRENT
from ktpel.security.access import Role
from ktpel.seeding.service import seed_district
from ktpel.store.schema.central import NationalRecordRow
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.sync import CentralPacketRow, OutboxRow
from ktpel.office.sync.agent import SyncAgent


def _captures(shared_data) -> dict[str, bytes]:
    fingers = sorted((shared_data / "fingerprints" / "FVC2002_DB1_B").glob("*_1.tif"))[:10]
    sig = Image.new("L", (480, 160), 255)
    ImageDraw.Draw(sig).line([(20, 120), (80, 40), (140, 110), (200, 50), (300, 100), (420, 60)], fill=0, width=3)
    buf = io.BytesIO()
    sig.save(buf, "PNG")
    out = {"face": (shared_data / "faces" / "att_orl" / "s1" / "1.pgm").read_bytes(), "signature": buf.getvalue()}
    out.update({f"finger_{i}": p.read_bytes() for i, p in enumerate(fingers, start=1)})
    return out


def _record_at_the_office(db, settings, regions, names, shared_data) -> tuple[str, ResidentRow]:
    from ktpel.security.service import add_user, issue_token
    from ktpel.web.app import create_app

    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=5, seed=3,
                  today=dt.date(2026, 11, 29))
    with db.unit_of_work() as s:
        add_user(s, username="op1", role=Role.OPERATOR, regency_code="18.01", password="operator-sandi-kuat-1")
        token = issue_token(s, username="op1")[1]
        resident = s.scalars(select(ResidentRow).order_by(ResidentRow.birth_date)).first()  # an adult: eligible
        s.expunge(resident)
    with TestClient(create_app(settings=settings, side="office", db=db)) as office:
        files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in _captures(shared_data).items()]
        answer = office.post("/api/v1/enrollments", headers={"Authorization": f"Bearer {token}"},
                             data={"demographics": json.dumps({"nik": resident.nik})}, files=files)
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "QUEUED"
    return answer.json()["enrollment_id"], resident


def test_the_office_packet_is_what_central_reads(linked, db, central_db, central_client, office_settings,
                                                 central_settings, regions, names, shared_data):
    eid, resident = _record_at_the_office(db, office_settings, regions, names, shared_data)
    with db.unit_of_work() as s:
        packet = s.scalar(select(OutboxRow).where(OutboxRow.subject_id == eid))
    # the content central will open: kind, subject and the payload the office wrote
    content = json.loads(packet.content)
    assert CURRENT.model_validate(content["payload"]).resident.nik == resident.nik

    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db,
                      central_url="http://central.test", client=central_client)
    assert agent.run_once(force=True).sent == 1
    with central_db.unit_of_work() as s:
        stored = s.get(CentralPacketRow, packet.packet_id)
    # central's own parser reads what its intake stored, field for field
    read = parse(json.loads(stored.payload), packet_office="18.01", subject_id=eid)
    assert (read.resident["nik"], read.resident["name"], read.birth_date) == \
        (resident.nik, resident.name, resident.birth_date)
    assert set(read.templates) == {"face", *(f"finger_{i}" for i in range(1, 11))}
    assert {"face", "signature"} <= set(read.images)

    [outcome] = Worker(db=central_db, settings=central_settings).drain()
    assert outcome.status == "done" and outcome.outcome == "PRINT_READY"
    with central_db.unit_of_work() as s:
        record = s.get(NationalRecordRow, eid)
        assert (record.nik, record.name, record.birth_date, record.office_code) == \
            (resident.nik, resident.name, resident.birth_date, "18.01")

    agent.run_once(force=True)  # the decision comes back as events
    with db.unit_of_work() as s:
        assert s.get(EnrollmentRow, eid).state == "PRINT_READY"
        card = s.scalar(select(CardRow).where(CardRow.enrollment_id == eid))
    assert card is not None and card.state == "AUTHORISED" and card.id == record.card_id
