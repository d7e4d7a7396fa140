"""Enrollment states move only on a receipt (SFE) and on central's events (TERIMA, PRR, DUP, EFAC)."""

from __future__ import annotations

from sqlalchemy import select

from ktpel.office import composition as office_composition
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow
from ktpel.sync import authorisation
from ktpel.office.sync.agent import SyncAgent
from ktpel.central.sync.events import publish
from ktpel.keys.keyring import central_public_keys, central_signing_key

from tests.integration.sync.builders import card_dict, queued_enrollment


def _state(db, enrollment_id: str) -> str:
    with db.unit_of_work() as s:
        return s.get(EnrollmentRow, enrollment_id).state


def _agent(office_settings, db, client) -> SyncAgent:
    return SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=client)


def test_enrollment_is_received_after_receipt_and_event(linked, db, central_client, office_settings):
    with db.unit_of_work() as s:
        eid, _ = queued_enrollment(s)
    agent = _agent(office_settings, db, central_client)
    report = agent.run_once(force=True)
    # no pipeline installed: central confirms with enrollment.received, so QUEUED → SENT → RECEIVED
    assert report.sent == 1 and report.applied == 1
    assert _state(db, eid) == "RECEIVED"
    with db.unit_of_work() as s:
        names = list(s.scalars(select(DomainEventRow.name).where(DomainEventRow.subject_id == eid)
                               .order_by(DomainEventRow.id)))
    assert names == ["enrollment.mark_sent", "enrollment.receive"]


def test_print_ready_creates_authorised_card_with_verifiable_token(linked, db, central_db, central_client,
                                                                 office_settings, central_settings):
    with db.unit_of_work() as s:
        eid, _ = queued_enrollment(s)
    agent = _agent(office_settings, db, central_client)
    agent.run_once(force=True)
    token = authorisation.issue(signing_key=central_signing_key(central_settings),
                                card=card_dict(enrollment_id=eid, card_id="card-77"))
    with central_db.unit_of_work() as s:
        publish(s, office_code="18.01", kind="enrollment.print_ready", subject_id=eid,
                data={"authorisation": token})
    assert agent.run_once(force=True).applied == 1
    assert _state(db, eid) == "PRINT_READY"
    with db.unit_of_work() as s:
        card = s.scalar(select(CardRow).where(CardRow.enrollment_id == eid))
    assert card.state == "AUTHORISED" and card.id == "card-77"
    assert authorisation.verify(card.authorisation, public_keys=central_public_keys(office_settings))["nik"]


def test_print_ready_with_forged_authorisation_is_not_applied(linked, db, central_db, central_client,
                                                             office_settings):
    from ktpel.keys.keyring import KeyPair

    with db.unit_of_work() as s:
        eid, _ = queued_enrollment(s)
    agent = _agent(office_settings, db, central_client)
    agent.run_once(force=True)
    forged = authorisation.issue(signing_key=KeyPair.generate(), card=card_dict(enrollment_id=eid))
    with central_db.unit_of_work() as s:
        publish(s, office_code="18.01", kind="enrollment.print_ready", subject_id=eid, data={"authorisation": forged})
    agent.run_once(force=True)
    assert _state(db, eid) == "RECEIVED"
    with db.unit_of_work() as s:
        assert s.scalar(select(CardRow).where(CardRow.enrollment_id == eid)) is None


def test_failed_and_duplicate_events_set_reason_and_state(linked, db, central_db, central_client, office_settings):
    with db.unit_of_work() as s:
        failed, _ = queued_enrollment(s, n=1)
        dup, _ = queued_enrollment(s, n=2)
    agent = _agent(office_settings, db, central_client)
    agent.run_once(force=True)
    with central_db.unit_of_work() as s:
        publish(s, office_code="18.01", kind="enrollment.failed", subject_id=failed,
                data={"reason": "sidik jari kurang jelas"})
        publish(s, office_code="18.01", kind="enrollment.duplicate", subject_id=dup,
                data={"other_enrollment_id": "x", "score": 0.97})
    agent.run_once(force=True)
    assert _state(db, failed) == "FAILED"
    assert _state(db, dup) == "DUPLICATE"
    with db.unit_of_work() as s:
        assert s.get(EnrollmentRow, failed).failure_reason == "sidik jari kurang jelas"


def test_extra_handler_runs_in_the_same_transaction_as_the_cursor(linked, db, central_db, central_client,
                                                                  office_settings, monkeypatch):
    from ktpel.store.schema.sync import LinkRow
    from ktpel.sync.wiring import OfficeHandlers

    calls = []

    def boom(session, *, context, seq, kind, subject_id, data):  # noqa: ANN001
        calls.append(seq)
        if len(calls) == 1:
            raise RuntimeError("handler crashed")

    handlers = OfficeHandlers(events={**office_composition.SYNC.events, "blanks.allocated": [boom]})
    with central_db.unit_of_work() as s:
        publish(s, office_code="18.01", kind="blanks.allocated", subject_id="batch-1", data={"n": 100})
    agent = SyncAgent(handlers=handlers, settings=office_settings, db=db, central_url="http://central.test",
                      client=central_client)
    try:
        agent.pull_events()
    except RuntimeError:
        pass
    with db.unit_of_work() as s:
        assert s.get(LinkRow, 1).event_cursor == 0  # the failed event did not advance the cursor
    assert agent.pull_events() == 1
    assert calls == [1, 1]
