"""Adjudication over HTTP (four eyes, double clicks) and the data-ganda case to one PRR."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from ktpel.security.access import Role
from ktpel.store.schema.central import (AdjudicationRow, DuplicateCaseRow, NationalRecordRow, RetiredNikRow)
from ktpel.store.fields import cipher
from ktpel.store.schema.core import DomainEventRow
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client
from tests.integration.central.conftest import make_payload

NIK_A, NIK_B = "1801051705900001", "1802051705900003"


@pytest.fixture
def twice(central, people, db):
    """One resident recorded at 18.01 then at 18.02 under another NIK: the second is in adjudication."""
    first = make_payload(people.biometrics(person=1, impression=1), nik=NIK_A, name="Budi Santoso")
    second = make_payload(people.biometrics(person=1, impression=2), nik=NIK_B, name="Budi Santosa",
                          office_code="18.02")
    central.receive(first)
    central.receive(second, office_code="18.02")
    assert [o.outcome for o in central.worker.drain()] == ["PRINT_READY", "ADJUDICATION"]
    with db.unit_of_work() as s:
        item = s.scalars(select(AdjudicationRow)).one()
    return first, second, item.id


@pytest.fixture
def app(settings, db):
    return create_app(settings=settings, side="central", db=db)


def _version(db, item_id):
    with db.unit_of_work() as s:
        return s.get(AdjudicationRow, item_id).version


def test_same_person_needs_two_adjudicators_and_opens_a_case_for_both_offices(app, db, twice, central):
    first, second, item_id = twice
    a = authed_client(app, db, Role.ADJUDICATOR)
    b = authed_client(app, db, Role.ADJUDICATOR)
    queue = a.get("/adjudikasi")
    assert queue.status_code == 200 and item_id in queue.text
    page = a.get(f"/adjudikasi/{item_id}")
    assert page.status_code == 200 and NIK_A in page.text and NIK_B in page.text
    assert 'class="diff"' in page.text  # the NIKs and names differ and are highlighted
    img = a.get(f"/adjudikasi/{item_id}/gambar/{first['enrollment_id']}/finger_1")
    assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"
    v1 = _version(db, item_id)
    resp = a.post(f"/adjudikasi/{item_id}/keputusan", data={"csrf_token": a.csrf, "decision": "same",
                                                            "reason": "wajah dan 4 jari cocok", "version": v1},
                  follow_redirects=False)
    assert resp.status_code == 303
    # the same adjudicator cannot confirm their own "same person"
    own = a.post(f"/adjudikasi/{item_id}/keputusan", data={"csrf_token": a.csrf, "decision": "same",
                                                           "reason": "yakin", "version": v1 + 1})
    assert own.status_code == 409 and "adjudikator lain" in own.text
    # a double click (the stale form) is refused and changes nothing
    stale = b.post(f"/adjudikasi/{item_id}/keputusan", data={"csrf_token": b.csrf, "decision": "different",
                                                             "reason": "x", "version": v1})
    assert stale.status_code == 409 and "sudah diputuskan" in stale.text
    with db.unit_of_work() as s:
        assert s.get(NationalRecordRow, second["enrollment_id"]).state == "ADJUDICATION"
    ok = b.post(f"/api/v1/adjudications/{item_id}/decision",
                json={"decision": "same", "reason": "konfirmasi", "version": v1 + 1},
                headers={"X-CSRF-Token": b.csrf})
    assert ok.status_code == 200 and ok.json()["status"] == "same"
    again = b.post(f"/api/v1/adjudications/{item_id}/decision",
                   json={"decision": "same", "reason": "klik dua kali", "version": v1 + 1},
                   headers={"X-CSRF-Token": b.csrf})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    with db.unit_of_work() as s:
        assert s.get(NationalRecordRow, second["enrollment_id"]).state == "DUPLICATE"
        case = s.scalars(select(DuplicateCaseRow)).one()
        audits = s.execute(select(DomainEventRow.name)).scalars().all()
    assert case.status == "open" and {case.record_a, case.record_b} == {first["enrollment_id"], second["enrollment_id"]}
    [dup] = central.events(office_code="18.02", kind="enrollment.duplicate")
    assert dup["data"]["other_enrollment_id"] == first["enrollment_id"]
    for office, mine in (("18.01", first), ("18.02", second)):
        [ev] = central.events(office_code=office, kind="duplicate.case_opened")
        assert ev["data"]["case_id"] == case.id and ev["data"]["enrollment_ids"] == [mine["enrollment_id"]]
        assert {r["nik"] for r in ev["data"]["records"]} == {NIK_A, NIK_B}
    assert "duplicate.case_opened" in audits
    from ktpel.store.schema.security import AuditEntryRow

    with db.unit_of_work() as s:
        actions = s.scalars(select(AuditEntryRow.action)).all()
    assert actions.count("adjudication.same") == 2 and "duplicate_case.open" in actions


def test_different_people_makes_the_record_print_ready(app, db, twice, central):
    _, second, item_id = twice
    a = authed_client(app, db, Role.ADJUDICATOR)
    empty = a.post(f"/adjudikasi/{item_id}/keputusan",
                   data={"csrf_token": a.csrf, "decision": "different", "reason": " ", "version": _version(db, item_id)})
    assert empty.status_code == 422 and "Alasan" in empty.text
    a.post(f"/adjudikasi/{item_id}/keputusan", data={"csrf_token": a.csrf, "decision": "different",
                                                     "reason": "kembar identik, KK berbeda",
                                                     "version": _version(db, item_id)})
    with db.unit_of_work() as s:
        assert s.get(NationalRecordRow, second["enrollment_id"]).state == "PRINT_READY"
        item = s.get(AdjudicationRow, item_id)
        assert (item.first_reason, item.final_reason) == ("kembar identik, KK berbeda",) * 2
    assert len(central.events(office_code="18.02", kind="enrollment.print_ready")) == 1
    with db.engine.connect() as conn:  # issue 20: the adjudicator's free text is ciphertext at rest
        stored = conn.execute(text("SELECT first_reason, final_reason FROM central_adjudications WHERE id = :i"),
                              {"i": item_id}).one()
    assert all(b"kembar" not in bytes(v) and cipher().decrypt(bytes(v)) == b"kembar identik, KK berbeda" for v in stored)


def test_roles_the_queue_and_pipeline_pages_require(app, db, twice):
    admin = authed_client(app, db, Role.CENTER_ADMIN)
    adj = authed_client(app, db, Role.ADJUDICATOR)
    assert adj.get("/pipeline").status_code == 403
    assert admin.get("/adjudikasi").status_code == 200
    first, _, item_id = twice
    # issue 20 item 11: the data-center admin sees the queue, never the dossier (parents, street, images)
    assert f'href="/adjudikasi/{item_id}"' not in admin.get("/adjudikasi").text
    assert admin.get(f"/adjudikasi/{item_id}").status_code == 403
    assert admin.get(f"/api/v1/adjudications/{item_id}").status_code == 403
    assert admin.get(f"/adjudikasi/{item_id}/gambar/{first['enrollment_id']}/face").status_code == 403
    assert adj.get(f"/api/v1/adjudications/{item_id}").status_code == 200
    refused = admin.post(f"/api/v1/adjudications/{item_id}/decision",
                         json={"decision": "different", "reason": "x", "version": 1}, headers={"X-CSRF-Token": admin.csrf})
    assert refused.status_code == 403
    page = admin.get("/pipeline")
    assert page.status_code == 200 and "Keputusan" in page.text and "PRINT_READY" not in page.text
    stats = admin.get("/api/v1/pipeline").json()
    assert stats["outcomes"] == {"PRINT_READY": 1, "ADJUDICATION": 1}
    assert {s["stage"] for s in stats["stages"]} >= {"validate", "biometric", "decide"}


def test_resident_choice_revokes_the_other_record_and_closes_the_case(app, db, twice, central, settings, people):
    from ktpel.central.adjudication import service as adjudication
    from ktpel.central.resolution.service import handle_resolution_packet
    from ktpel.sync.wiring import HandlerContext
    from ktpel.sync.authorisation import verify
    from ktpel.keys.keyring import central_public_keys

    first, second, item_id = twice
    with db.unit_of_work() as s:
        adjudication.decide(s, settings=settings, adjudication_id=item_id, decision="same", reason="r",
                            adjudicator="adj1", version=_version(db, item_id))
    with db.unit_of_work() as s:
        adjudication.decide(s, settings=settings, adjudication_id=item_id, decision="same", reason="r",
                            adjudicator="adj2", version=_version(db, item_id))
        case_id = s.scalars(select(DuplicateCaseRow.id)).one()
    # the resident came to 18.02 and keeps the newer record (NIK_B); NIK_A (18.01, print-ready) is revoked
    with db.unit_of_work() as s:
        handle_resolution_packet(s, context=HandlerContext(settings=settings), packet_id="p1", office_code="18.02", kind="duplicate.resolution",
                                 subject_id=case_id, payload={"action": "choose", "case_id": case_id,
                                                              "keep_enrollment_id": second["enrollment_id"],
                                                              "chosen_by": "op18.02"})
    with db.unit_of_work() as s:
        case = s.get(DuplicateCaseRow, case_id)
        kept = s.get(NationalRecordRow, second["enrollment_id"])
        other = s.get(NationalRecordRow, first["enrollment_id"])
        retired = s.get(RetiredNikRow, NIK_A)
    assert case.status == "closed" and case.kept_record_id == kept.id and case.resolved_at_office == "18.02"
    assert kept.state == "PRINT_READY" and other.state == "REVOKED" and retired.case_id == case_id
    [prr] = central.events(office_code="18.02", kind="enrollment.print_ready")
    assert prr["data"]["case_id"] == case_id
    assert verify(prr["data"]["authorisation"], public_keys=central_public_keys(settings))["nik"] == NIK_B
    [rev] = central.events(office_code="18.01", kind="revocation")
    assert rev["data"]["enrollment_id"] == other.id and rev["data"]["card_id"] == other.card_id
    # a late choice from the other office changes nothing and is logged
    with db.unit_of_work() as s:
        handle_resolution_packet(s, context=HandlerContext(settings=settings), packet_id="p2", office_code="18.01", kind="duplicate.resolution",
                                 subject_id=case_id, payload={"action": "choose", "case_id": case_id,
                                                              "keep_enrollment_id": first["enrollment_id"]})
    with db.unit_of_work() as s:
        assert s.get(NationalRecordRow, first["enrollment_id"]).state == "REVOKED"
        refused = s.scalars(select(DomainEventRow).where(DomainEventRow.name == "duplicate.resolution_refused")).one()
    assert "already closed" in refused.data["error"]
    # recording again under the retired NIK fails with the reason (the resident uses the kept NIK)
    again = make_payload(people.biometrics(person=1, impression=3), nik=NIK_A, name="Budi Santoso")
    central.receive(again)
    assert [o.outcome for o in central.worker.drain()] == ["FAILED"]
    with db.unit_of_work() as s:
        assert "dicabut" in s.get(NationalRecordRow, again["enrollment_id"]).failure_reason
    # and the revoked record has left the gallery: a new recording of the person matches only the kept one
    fresh = make_payload(people.biometrics(person=1, impression=4), nik="1801051705900009", name="Budi S")
    central.receive(fresh)
    assert [o.outcome for o in central.worker.drain()] == ["ADJUDICATION"]
    with db.unit_of_work() as s:
        cands = s.scalars(select(AdjudicationRow.candidate_id).where(
            AdjudicationRow.record_id == fresh["enrollment_id"])).all()
    assert cands == [second["enrollment_id"]]


def test_an_office_report_opens_a_case_and_bad_reports_are_logged(db, twice, central, settings):
    from ktpel.central.resolution.service import handle_resolution_packet
    from ktpel.sync.wiring import HandlerContext

    first, second, _ = twice
    with db.unit_of_work() as s:
        handle_resolution_packet(s, context=HandlerContext(settings=settings), packet_id="r0", office_code="18.01", kind="duplicate.resolution",
                                 subject_id="x", payload={"action": "open", "nik_a": NIK_A, "nik_b": "1801059999999999",
                                                          "reported_by": "op", "reason": "KK sama"})
        handle_resolution_packet(s, context=HandlerContext(settings=settings), packet_id="r1", office_code="18.01", kind="duplicate.resolution",
                                 subject_id="x", payload={"action": "open", "nik_a": NIK_A, "nik_b": NIK_B,
                                                          "reported_by": "op", "reason": "KK sama"})
    with db.unit_of_work() as s:
        case = s.scalars(select(DuplicateCaseRow)).one()
        refused = s.scalars(select(DomainEventRow).where(DomainEventRow.name == "duplicate.resolution_refused")).one()
    assert case.source == "office" and case.opened_by == "18.01:op"
    assert "No live central record" in refused.data["error"]
    assert len(central.events(office_code="18.02", kind="duplicate.case_opened")) == 1
