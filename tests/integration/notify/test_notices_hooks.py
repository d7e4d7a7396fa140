"""Event handlers, the outage call-back, the call list and template editing, through the real seams."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ktpel.office import composition as office_composition
from ktpel.security.access import Role, User
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.notify import CallAttemptRow, CallListRow, NotifyMessageRow, TurnedAwayRow
from ktpel.sync import authorisation
from ktpel.keys.keyring import central_signing_key, init_keys
from ktpel.office.sync.apply import apply_events
from ktpel.office.sync.outage import record_failure, record_success
from ktpel.web.app import create_app
from ktpel.sync.wiring import HandlerContext
from tests.integration.notify.conftest import add_resident


def _client(settings, db, role: Role) -> TestClient:
    app = create_app(settings=settings, side="office", db=db)

    @app.middleware("http")
    async def signed_in(request, call_next):  # stands in for a signed-in session
        request.state.user = User(id=1, username=f"u-{role.value}", role=role, regency_code="18.01")
        return await call_next(request)

    return TestClient(app)


def _messages(db, **where):
    with db.unit_of_work() as s:
        q = select(NotifyMessageRow)
        for k, v in where.items():
            q = q.where(getattr(NotifyMessageRow, k) == v)
        return list(s.scalars(q))


def test_print_ready_event_queues_message_with_the_state_change(db, settings):
    init_keys(settings, side="central")
    with db.unit_of_work() as s:
        r, e = add_resident(s, state="SENT")
        card = {f: "x" for f in authorisation.CARD_FIELDS} | {"card_id": "c-1", "enrollment_id": e.id}
    token = authorisation.issue(signing_key=central_signing_key(settings), card=card)
    event = {"seq": 1, "kind": "enrollment.print_ready", "subject_id": e.id, "data": {"authorisation": token}}
    assert apply_events(db, context=HandlerContext(settings=settings),
                        handlers=office_composition.SYNC, events=[event]) == 1
    assert apply_events(db, context=HandlerContext(settings=settings),
                        handlers=office_composition.SYNC, events=[event]) == 0  # re-delivery: nothing new
    with db.unit_of_work() as s:
        assert s.get(EnrollmentRow, e.id).state == "PRINT_READY"
    [msg] = _messages(db)
    assert msg.trigger == "print_ready" and msg.resident_id == r.id


def test_duplicate_and_failed_events_queue_their_messages(settings, db):
    with db.unit_of_work() as s:
        dup, e1 = add_resident(s, state="SENT")
        bad, e2 = add_resident(s, state="SENT")
    apply_events(db, context=HandlerContext(settings=settings), handlers=office_composition.SYNC, events=[
        {"seq": 1, "kind": "enrollment.duplicate", "subject_id": e1.id, "data": {"score": 0.97}},
        {"seq": 2, "kind": "duplicate.case_opened", "subject_id": "case-9", "data": {"case_id": "DG-9", "records": [], "enrollment_ids": [e1.id]}},
        {"seq": 3, "kind": "enrollment.failed", "subject_id": e2.id, "data": {"reason": "sidik jari buram"}},
    ])
    assert len(_messages(db, trigger="duplicate_found")) == 1  # both kinds, one message
    [failed] = _messages(db, trigger="recording_failed")
    assert failed.resident_id == bad.id and "sidik jari buram" in failed.variables


def test_outage_end_notifies_turned_away_or_puts_them_on_the_call_list(db, settings):
    client = _client(settings, db, Role.OPERATOR)
    with db.unit_of_work() as s:
        mobile, _ = add_resident(s, name="ANI", phones=[("+6281234567811", True, True)])
        landline, _ = add_resident(s, name="BUDI", phones=[("+62215550123", False, True)])
    with db.unit_of_work() as s:
        record_failure(s, cause="test", next_attempt_at=None)
    page = client.get("/panggilan")
    assert page.status_code == 200
    for nik in (mobile.nik, landline.nik, mobile.nik):  # a second click does not add twice
        resp = client.post("/panggilan/tambah", data={"nik": nik}, follow_redirects=False)
        assert resp.status_code == 303
    missing = client.post("/panggilan/tambah", data={"nik": "1801050101909999"})
    assert missing.status_code == 404 and "tidak ditemukan" in missing.text
    with db.unit_of_work() as s:
        assert len(list(s.scalars(select(TurnedAwayRow)))) == 2
        assert _messages(db) == []
        # outage over → hooks
        record_success(s, context=HandlerContext(settings=settings), ended_hooks=office_composition.SYNC.outage_ended)
    [msg] = _messages(db, trigger="outage_over")
    assert msg.resident_id == mobile.id
    with db.unit_of_work() as s:
        outcomes = {r.resident_id: r.outcome for r in s.scalars(select(TurnedAwayRow))}
        [call] = list(s.scalars(select(CallListRow)))
    assert outcomes == {mobile.id: "MESSAGE", landline.id: "CALL_LIST"} and call.resident_id == landline.id
    page = client.get("/panggilan")
    assert "BUDI" in page.text and "+62215550123" in page.text and "kembali normal" in page.text
    # outcome logging: no answer keeps it open, wrong number closes it
    assert client.post(f"/panggilan/{call.id}/hasil", data={"outcome": "NO_ANSWER"},
                       follow_redirects=False).status_code == 303
    assert client.post(f"/panggilan/{call.id}/hasil", data={"outcome": "MAYBE"}).status_code == 422
    client.post(f"/panggilan/{call.id}/hasil", data={"outcome": "WRONG_NUMBER", "note": "nomor milik orang lain"})
    assert client.post(f"/panggilan/{call.id}/hasil", data={"outcome": "REACHED"}).status_code == 409
    with db.unit_of_work() as s:
        attempts = [a.outcome for a in s.scalars(select(CallAttemptRow).order_by(CallAttemptRow.id))]
        assert attempts == ["NO_ANSWER", "WRONG_NUMBER"] and s.get(CallListRow, call.id).state == "WRONG_NUMBER"
    assert "BUDI" not in client.get("/panggilan").text.split('id="telepon"')[1]


def test_head_edits_template_and_unknown_variable_is_refused(db, settings, clock):
    clock.freeze(clock.wib(10))  # office hours: the message is due and outside quiet hours
    head = _client(settings, db, Role.HEAD)
    page = head.get("/notifikasi/templat")
    assert page.status_code == 200 and "{bawa}" in page.text
    bad = head.post("/notifikasi/templat/print_ready",
                    data={"body_id": "Halo {nama}, kode {pin}", "body_en": "Hello {nama}"})
    assert bad.status_code == 422 and "{pin}" in bad.text and "Variabel tidak dikenal" in bad.text
    assert "Halo {nama}, kode {pin}" in bad.text  # the draft is kept for correction
    ok = head.post("/notifikasi/templat/print_ready", follow_redirects=False,
                   data={"body_id": "Halo {nama}, datang ke {kantor}, bawa {bawa}.", "body_en": "Hi {nama}."})
    assert ok.status_code == 303
    api = head.put("/api/v1/notification-templates/outage_over", json={"body_id": "{x}", "body_en": "y"})
    assert api.status_code == 422 and api.json()["code"] == "unknown_variable"
    from ktpel.store.schema.security import AuditEntryRow

    with db.unit_of_work() as s:
        audited = list(s.execute(select(AuditEntryRow.actor, AuditEntryRow.action)
                                 .where(AuditEntryRow.action.like("notify.%"))))
    assert audited == [("u-head", "notify.template_saved")]  # the refused saves left no trace
    with db.unit_of_work() as s:
        r, _ = add_resident(s, name="CITRA")
        from ktpel.office.notify.outbox import enqueue

        enqueue(s, resident_id=r.id, trigger="print_ready", variables={})
    from ktpel.office.notify.sender import send_once

    settings.notify_channel = "file"
    send_once(db, settings)
    log = (settings.data_dir / "notifications.log").read_text()
    assert "print_ready" in log and "CITRA" not in log  # the log line is masked (no personal data)
    from ktpel.store.schema.notify import NotifyMessageRow

    with db.unit_of_work() as s:
        body = s.scalars(select(NotifyMessageRow.body)).one()
    assert f"Halo CITRA, datang ke {settings.office_name}, bawa tanda terima perekaman dan KK." in body


def test_only_the_head_of_office_edits_templates(db, settings):
    codes = {role: _client(settings, db, role).get("/notifikasi/templat").status_code
             for role in (Role.OPERATOR, Role.SUPERVISOR, Role.HEAD)}
    assert codes == {Role.OPERATOR: 403, Role.SUPERVISOR: 403, Role.HEAD: 200}


def test_failed_messages_are_shown_and_can_be_retried(db, settings):
    with db.unit_of_work() as s:
        r, _ = add_resident(s)
        from ktpel.office.notify.outbox import enqueue

        [mid] = enqueue(s, resident_id=r.id, trigger="card_printed", variables={})
        row = s.get(NotifyMessageRow, mid)
        row.state, row.attempts, row.last_error = "FAILED", 6, "Sending failed: HTTP 500 from provider"
    sup = _client(settings, db, Role.SUPERVISOR)
    page = sup.get("/notifikasi", params={"status": "FAILED"})
    assert page.status_code == 200 and "HTTP 500 from provider" in page.text and "FAILED (1)" in page.text
    assert sup.get("/api/v1/notifications").json()["counts"] == {"FAILED": 1}
    assert sup.post(f"/notifikasi/{mid}/ulang", follow_redirects=False).status_code == 303
    [msg] = _messages(db)
    assert msg.state == "PENDING" and msg.attempts == 0
    assert _client(settings, db, Role.OPERATOR).get("/notifikasi").status_code == 403


def test_invalid_phone_capture_message_names_the_input():
    from ktpel.office.notify.errors import InvalidPhone
    from ktpel.office.notify.phones import normalise

    with pytest.raises(InvalidPhone, match="0812"):
        normalise("0812")


def _signed(secret: str, body: bytes) -> dict:
    import hashlib
    import hmac

    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


def test_delivery_reports_are_signed_and_recorded(db, settings):
    import json

    settings.notify_webhook_secret = "s3cret"
    with db.unit_of_work() as s:
        r, _ = add_resident(s)
        from ktpel.office.notify.outbox import enqueue

        [mid] = enqueue(s, resident_id=r.id, trigger="print_ready", variables={})
        row = s.get(NotifyMessageRow, mid)
        row.state, row.provider_id = "SENT", f"wamid.{mid}"
    client = TestClient(create_app(settings=settings, side="office", db=db))
    wa = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {"statuses": [
        {"id": f"wamid.{mid}", "status": "read"}, {"id": f"wamid.{mid}", "status": "sent"}]}}]}]}).encode()
    forged = client.post("/api/v1/notify/delivery-reports", content=wa, headers=_signed("wrong", wa))
    assert forged.status_code == 401
    ok = client.post("/api/v1/notify/delivery-reports", content=wa, headers=_signed("s3cret", wa))
    assert ok.status_code == 200 and ok.json() == {"received": 1, "updated": 1}
    late = json.dumps({"id": mid, "status": "delivered"}).encode()  # arrives after "read": ignored
    assert client.post("/api/v1/notify/delivery-reports", content=late,
                       headers=_signed("s3cret", late)).json()["updated"] == 0
    [msg] = _messages(db)
    assert msg.delivery == "READ" and msg.delivery_at is not None
    hs = client.get("/api/v1/notify/delivery-reports",
                    params={"hub.mode": "subscribe", "hub.verify_token": "s3cret", "hub.challenge": "42"})
    assert hs.status_code == 200 and hs.text == "42"
    assert client.get("/api/v1/notify/delivery-reports",
                      params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"}).status_code == 401


def test_delivery_webhook_is_off_without_a_secret(db, settings):
    client = TestClient(create_app(settings=settings, side="office", db=db))
    body = b'{"id": "x", "status": "delivered"}'
    assert client.post("/api/v1/notify/delivery-reports", content=body, headers=_signed("", body)).status_code == 403
