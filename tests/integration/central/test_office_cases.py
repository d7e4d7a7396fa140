"""Office side of a data-ganda case: shown at the counter, the resident's choice goes out as a packet."""

from __future__ import annotations

import json

from sqlalchemy import select

from ktpel.security.access import Role
from ktpel.store.schema.office_duplicates import OfficeDuplicateCaseRow
from ktpel.web.app import create_app
from ktpel.sync.wiring import HandlerContext
from tests.auth_fixtures import authed_client

RECORDS = [
    {"enrollment_id": "E-old", "nik": "1801051705900001", "name": "Budi Santoso", "birth_place": "Kalianda",
     "birth_date": "1990-05-17", "office_code": "18.01", "state": "PRINT_READY",
     "captured_at": "2026-01-02T03:04:05+00:00", "kk_number": "1801050101900001"},
    {"enrollment_id": "E-new", "nik": "1802051705900003", "name": "Budi Santosa", "birth_place": "Kalianda",
     "birth_date": "1990-05-17", "office_code": "18.02", "state": "DUPLICATE",
     "captured_at": "2026-11-29T03:04:05+00:00", "kk_number": "1802050101900009"},
]


def _open_case(settings, db):
    from ktpel.office.duplicates.service import apply_case_opened

    data = {"case_id": "DG-1", "records": RECORDS, "enrollment_ids": ["E-old"], "source": "adjudication"}
    with db.unit_of_work() as s:
        apply_case_opened(s, context=HandlerContext(settings=settings),
                          seq=1, kind="duplicate.case_opened", subject_id="DG-1", data=data)
    with db.unit_of_work() as s:  # the same event again changes nothing
        apply_case_opened(s, context=HandlerContext(settings=settings),
                          seq=1, kind="duplicate.case_opened", subject_id="DG-1", data=data)


def _outbox(db):
    from ktpel.store.schema.sync import OutboxRow

    with db.unit_of_work() as s:
        return [(r.kind, r.subject_id, json.loads(r.content)["payload"]) for r in s.scalars(select(OutboxRow))]


def test_resident_choice_needs_the_family_card_and_is_sent_once(settings, db):
    _open_case(settings, db)
    app = create_app(settings=settings, side="office", db=db)
    op = authed_client(app, db, Role.OPERATOR)
    page = op.get("/data-ganda")
    assert page.status_code == 200 and "DG-1" in page.text and "1802051705900003" in page.text
    wrong = op.post("/data-ganda/DG-1/pilih", data={"csrf_token": op.csrf, "keep": "E-old", "kk_number": "123"})
    assert wrong.status_code == 422 and "Nomor KK tidak cocok" in wrong.text and _outbox(db) == []
    # the KK of the record to be revoked proves nothing
    other = op.post("/data-ganda/DG-1/pilih", data={"csrf_token": op.csrf, "keep": "E-old",
                                                     "kk_number": "1802050101900009"})
    assert other.status_code == 422 and "akan DICABUT" in other.text and _outbox(db) == []
    # the first submit only shows both records and what will happen
    ask = op.post("/data-ganda/DG-1/pilih", data={"csrf_token": op.csrf, "keep": "E-old",
                                                   "kk_number": "1801050101900001"})
    assert ask.status_code == 200 and "tidak dapat dibatalkan" in ask.text and "1802051705900003" in ask.text
    assert _outbox(db) == []
    # no face of either record can be shown (none recorded here, central not linked): nothing is confirmed blind
    blind = op.post("/data-ganda/DG-1/pilih", data={"csrf_token": op.csrf, "keep": "E-old", "konfirmasi": "1",
                                                     "kk_number": "1801050101900001"})
    assert blind.status_code == 503 and _outbox(db) == []
    # with both faces on the screen (as fetched from central: tests/integration/sync/test_duplicate_photos.py)
    from ktpel.office.duplicates.photos import RemotePhoto, cache_of
    from ktpel.domain.clock import now

    for eid in ("E-old", "E-new"):
        cache_of(app.state).put("DG-1", eid, RemotePhoto(image=b"png", media_type="image/png", kk_number="",
                                                         fetched_at=now()))
    ok = op.post("/data-ganda/DG-1/pilih", data={"csrf_token": op.csrf, "keep": "E-old", "konfirmasi": "1",
                                                  "kk_number": "1801050101900001"}, follow_redirects=False)
    assert ok.status_code == 303
    [(kind, subject, payload)] = _outbox(db)
    assert kind == "duplicate.resolution" and subject == "DG-1"
    assert payload == {"action": "choose", "case_id": "DG-1", "keep_enrollment_id": "E-old", "chosen_by": op.username}
    twice = op.post("/data-ganda/DG-1/pilih", data={"csrf_token": op.csrf, "keep": "E-new",
                                                     "kk_number": "1802050101900009"})
    assert twice.status_code == 409 and len(_outbox(db)) == 1
    # central's revocation of the other record closes the case here
    from ktpel.office.duplicates.service import apply_case_closed

    with db.unit_of_work() as s:
        apply_case_closed(s, context=HandlerContext(settings=settings), seq=2, kind="revocation", subject_id="E-new",
                          data={"case_id": "DG-1", "kept_enrollment_id": "E-old"})
    with db.unit_of_work() as s:
        assert s.get(OfficeDuplicateCaseRow, "DG-1").status == "closed"


def test_office_reports_two_niks_of_one_person(settings, db):
    app = create_app(settings=settings, side="office", db=db)
    sup = authed_client(app, db, Role.SUPERVISOR)
    bad = sup.post("/data-ganda/lapor", data={"csrf_token": sup.csrf, "nik_a": "1801051705900001",
                                              "nik_b": "1801051705900001", "reason": "sama"})
    assert bad.status_code == 422 and "sama" in bad.text and _outbox(db) == []
    ok = sup.post("/data-ganda/lapor", data={"csrf_token": sup.csrf, "nik_a": "1801051705900001",
                                             "nik_b": "1802051705900003", "reason": "satu KK, orang sama"},
                  follow_redirects=False)
    assert ok.status_code == 303
    [(kind, _, payload)] = _outbox(db)
    assert kind == "duplicate.resolution" and payload["action"] == "open" and payload["nik_b"] == "1802051705900003"
