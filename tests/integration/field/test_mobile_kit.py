"""Mobile kit as a second process: it records offline on its own SQLite, then syncs into its home office
(served over real HTTP) which queues the packet for central with its origin; syncing twice records nothing
twice, a wrong token is refused, and the forwarded payload is one central's intake accepts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ktpel.store.schema.core import EnrollmentRow, ResidentRow
from ktpel.store.schema.kit import KitReceiptRow
from ktpel.store.schema.sync import OutboxRow
from ktpel.office.sync.outbox import content_of

REPO = Path(__file__).resolve().parents[3]
RESIDENT = {"nik": "1801054507900042", "kk_number": "1801050000000042", "name": "RATNA SARI", "birth_place": "KALIANDA",
            "birth_date": "1990-07-05", "sex": "P", "blood_type": "O", "street": "JL. PANTAI 3", "rt": "002", "rw": "001",
            "village_code": "18.01.05.2001", "district_code": "18.01.05", "regency_code": "18.01", "religion": "ISLAM",
            "marital_status": "KAWIN", "occupation": "NELAYAN", "citizenship": "WNI", "family_role": "ISTRI",
            "father_name": "", "mother_name": ""}


def _kit(tmp_path, settings, *args, module="ktpel.cli"):
    env = {**os.environ, "KTPEL_DATA_DIR": str(tmp_path / "kit"), "KTPEL_DATABASE_URL": f"sqlite:///{tmp_path}/kit.db",
           "KTPEL_SHARED_DATA": str(settings.shared_data), "KTPEL_KIT_ID": "kit-7", "KTPEL_MOBILE_KIT": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    done = subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=300,
                          cwd=REPO)
    return done.returncode, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "", done.stderr[-2000:]


@pytest.mark.timeout(600)
def test_kit_day_syncs_into_its_home_office_once(db, settings, tmp_path, live_server):
    from ktpel.central.pipeline.payload import parse
    from ktpel.web.app import create_app

    home_settings = settings.model_copy(update={"kit_token": "t0ken-kit"})
    with db.unit_of_work() as s:
        s.add(ResidentRow(**{**RESIDENT, "birth_date": __import__("datetime").date(1990, 7, 5)}))
    home = live_server(create_app(settings=home_settings, side="office", db=db))
    # the kit records all day without any network
    rc, out, err = _kit(tmp_path, settings, json.dumps(RESIDENT), module="tests.integration.field.kit_process")
    assert rc == 0, err
    recorded = json.loads(out)
    assert recorded["state"] == "QUEUED"
    # a wrong token is refused; nothing arrives
    rc, out, _ = _kit(tmp_path, settings, "office", "kit-sync", "--home", home.url, "--token", "wrong")
    assert rc == 1 and "kit_refused" in out
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(KitReceiptRow)) == 0
    # back at the office: the kit syncs, then syncs again
    for expected in (1, 0):
        rc, out, err = _kit(tmp_path, settings, "office", "kit-sync", "--home", home.url, "--token", "t0ken-kit")
        assert rc == 0, err
        assert json.loads(out)["sent"] == expected
    with db.unit_of_work() as s:
        row = s.get(EnrollmentRow, recorded["enrollment_id"])
        assert row.state == "QUEUED" and row.operator == "petugas.kit@kit-7"
        packet = s.scalars(select(OutboxRow).where(OutboxRow.kind == "enrollment")).one()
        content = content_of(packet)
        assert content["payload"]["origin"]["kit"] == "kit-7" and content["subject_id"] == row.id
        assert s.scalar(select(func.count()).select_from(KitReceiptRow)) == 1
        from ktpel.office.enrollment.service import enrolled_templates

        assert {"face", "finger_1"} <= set(enrolled_templates(s, enrollment_id=row.id))
    # what the home forwards is an enrollment central accepts, still naming its origin
    parsed = parse(content["payload"], packet_office="18.01", subject_id=row.id)
    assert parsed.enrollment_id == row.id
    # the kit crashed before marking its packet sent and sends it again: the home answers with the same packet
    from ktpel.office.kit.service import receive_kit_packet

    with db.unit_of_work() as s:
        kit_packet = s.scalars(select(KitReceiptRow)).one()
        again = receive_kit_packet(s, settings=home_settings, kit_id="kit-7", kit_packet_id=kit_packet.kit_packet_id,
                                   content={"kind": "enrollment", "subject_id": row.id, "payload": {}})
        assert again == packet.packet_id
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "enrollment")) == 1
        assert s.scalar(select(func.count()).select_from(EnrollmentRow)) == 1
