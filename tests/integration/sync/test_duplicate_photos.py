"""Data ganda at the counter: the other office's record photo comes from central over the signed API.

Central answers only an office that holds one of the case's records, only while the case is open, sealed to
that office, and audits each answer; the office shows both faces side by side and will not confirm a
revocation when central cannot be reached (it says so instead)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from ktpel.office import composition as office_composition
from ktpel.security.access import Role
from ktpel.store.schema.sync import OutboxRow
from ktpel.sync import envelope as env
from ktpel.office.sync.agent import SyncAgent
from tests.auth_fixtures import authed_client
from tests.integration.sync.builders import national_record, photo_case

OTHER_KK = "1871010101900009"


@pytest.fixture
def case(linked, db, central_db, central_client, office_settings, shared_data):
    """Our recording (face held here) and another office's, opened as one case at central and pulled here."""
    from tests.integration.printing.conftest import Office

    faces = shared_data / "faces" / "att_orl"
    case_id, eid, nik, kk = photo_case(db=db, central_db=central_db, office=Office(db, office_settings),
                                       faces=faces, other_kk=OTHER_KK, our_state="PRINT_READY")
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db,
                      central_url="http://central.test", client=central_client)
    assert agent.pull_events() >= 1
    return {"case_id": case_id, "ours": eid, "kk": kk, "nik": nik, "agent": agent}


def _audit(central_db, action: str) -> list:
    from ktpel.store.schema.security import AuditEntryRow as AuditRow

    with central_db.unit_of_work() as s:
        return list(s.scalars(select(AuditRow).where(AuditRow.action == action)))


def test_central_serves_the_photo_sealed_to_an_office_of_the_case_and_audits_it(case, central_db, central_client,
                                                                                office_settings):
    from PIL import Image

    path = f"/api/v1/sync/duplicate-cases/{case['case_id']}/records/E-lain-1/face"
    body = case["agent"].read_sealed(path, doc_type="duplicate.record_photo",
                                     bound={"case_id": case["case_id"], "enrollment_id": "E-lain-1"})
    import base64

    img = Image.open(io.BytesIO(base64.b64decode(body["face"])))
    assert img.format == "PNG" and max(img.size) <= 480 and body["kk_number"] == OTHER_KK
    [entry] = _audit(central_db, "duplicate_case.photo_read")
    assert entry.actor == "office:18.01"
    # the raw answer is sealed: no KK, no image in the clear
    from ktpel.keys.keyring import load_keyring

    ring = load_keyring(office_settings, side="office")
    raw = central_client.get(path, headers=env.request_headers(method="GET", path=path, office_code="18.01",
                                                               key=ring.active))
    assert raw.status_code == 200 and OTHER_KK not in raw.text and set(raw.json()) >= {"sealed", "sig"}
    # unsigned: refused and logged; a record outside the case: 404
    assert central_client.get(path).status_code == 401
    other = path.replace("E-lain-1", "E-bukan")
    assert central_client.get(other, headers=env.request_headers(method="GET", path=other, office_code="18.01",
                                                                 key=ring.active)).status_code == 404


def test_an_office_outside_the_case_is_refused_and_audited(case, central_db, central_client):
    from ktpel.central.resolution.service import open_case_from_adjudication

    with central_db.unit_of_work() as s:
        a = national_record(s, enrollment_id="E-jauh-1", nik="1871010507909002", name="ANI", office_code="18.71",
                            face=b"P5 1 1 255 x", kk_number="1")
        b = national_record(s, enrollment_id="E-jauh-2", nik="1872010507909003", name="ANI", office_code="18.72",
                            face=b"P5 1 1 255 x", kk_number="2")
        foreign = open_case_from_adjudication(s, record=a, candidate=b, adjudication_id="ADJ-2", opened_by="adj").id
    with pytest.raises(env.Refused) as refused:
        case["agent"].read_sealed(f"/api/v1/sync/duplicate-cases/{foreign}/records/E-jauh-1/face",
                                  doc_type="duplicate.record_photo", bound={"case_id": foreign,
                                                                            "enrollment_id": "E-jauh-1"})
    assert refused.value.http_status == 403 and refused.value.reason == "not_part_of_case"
    [entry] = _audit(central_db, "duplicate_case.photo_refused")
    assert entry.actor == "office:18.01" and _audit(central_db, "duplicate_case.photo_read") == []


def test_counter_shows_both_faces_and_confirms_then_the_cache_is_dropped(case, db, office_settings, central_client):
    from ktpel.office.duplicates.photos import cache_of
    from ktpel.web.app import create_app

    app = create_app(settings=office_settings, side="office", db=db)
    app.state.central_client = central_client  # central's app, over HTTP semantics, no socket
    op = authed_client(app, db, Role.OPERATOR)
    page = op.get("/data-ganda")
    assert page.status_code == 200 and OTHER_KK in page.text
    remote = f"/data-ganda/{case['case_id']}/foto/E-lain-1"
    assert f'src="{remote}"' in page.text and f'src="/rekam/{case["ours"]}/foto.jpg"' in page.text
    photo = op.get(remote)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.headers["cache-control"] == "private, no-store"
    ask = op.post(f"/data-ganda/{case['case_id']}/pilih",
                  data={"csrf_token": op.csrf, "keep": case["ours"], "kk_number": case["kk"]})
    assert ask.status_code == 200 and 'id="confirm-revoke" disabled' not in ask.text
    assert ask.text.count('class="face"') == 2
    done = op.post(f"/data-ganda/{case['case_id']}/pilih", follow_redirects=False,
                   data={"csrf_token": op.csrf, "keep": case["ours"], "kk_number": case["kk"], "konfirmasi": "1"})
    assert done.status_code == 303
    with db.unit_of_work() as s:
        [packet] = s.scalars(select(OutboxRow).where(OutboxRow.kind == "duplicate.resolution")).all()
    assert json.loads(packet.content)["payload"]["keep_enrollment_id"] == case["ours"]
    assert len(cache_of(app.state)) == 0


def test_offline_the_counter_says_so_and_does_not_confirm(case, db, office_settings):
    from ktpel.web.app import create_app
    from tests.e2e.conftest import free_port

    from ktpel.keys.keyring import central_keys, save_central_trust

    down = office_settings.model_copy(update={"central_url": f"http://127.0.0.1:{free_port()}"})
    save_central_trust(down, central_keys(down), central_url=down.central_url)  # nothing listens there

    app = create_app(settings=down, side="office", db=db)
    op = authed_client(app, db, Role.OPERATOR)
    page = op.get("/data-ganda")
    assert page.status_code == 200 and f'id="photo-offline-{case["case_id"]}"' in page.text
    assert "Pusat tidak terhubung" in page.text and 'data-photo="offline"' in page.text
    ask = op.post(f"/data-ganda/{case['case_id']}/pilih",
                  data={"csrf_token": op.csrf, "keep": case["ours"], "kk_number": case["kk"]})
    assert ask.status_code == 200 and 'id="confirm-revoke" disabled' in ask.text and "Pusat tidak terhubung" in ask.text
    forced = op.post(f"/data-ganda/{case['case_id']}/pilih",
                     data={"csrf_token": op.csrf, "keep": case["ours"], "kk_number": case["kk"], "konfirmasi": "1"})
    assert forced.status_code == 503 and "belum dapat dikonfirmasi" in forced.text
    with db.unit_of_work() as s:
        assert s.scalars(select(OutboxRow).where(OutboxRow.kind == "duplicate.resolution")).all() == []
