"""A recording travels office → central → back as events; the same packet twice is stored once."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ktpel.office import composition as office_composition
from ktpel.store.schema.sync import CentralEventRow, CentralPacketRow, OutboxRow, RejectionRow
from ktpel.office.sync.agent import SyncAgent
from ktpel.office.sync.outbox import enqueue_packet
from ktpel.domain.clock import now as clock_now


def _count(db, model, *where) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_queued_packets_arrive_once_and_outbox_empties(linked, db, central_db, central_client, office_settings):
    with db.unit_of_work() as s:
        ids = [enqueue_packet(s, kind="card.issued", subject_id=f"card-{i}", payload={"i": i}) for i in range(5)]
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    report = agent.run_once(force=True)
    assert report.sent == 5 and report.reachable
    assert _count(db, OutboxRow, OutboxRow.state == "QUEUED") == 0
    with central_db.unit_of_work() as s:
        stored = set(s.scalars(select(CentralPacketRow.packet_id)))
    assert stored == set(ids)


def test_resent_packet_gets_the_same_receipt_and_is_stored_once(linked, db, central_db, central_client,
                                                                office_settings):
    from ktpel.sync import envelope as env
    from ktpel.keys.keyring import central_keys, load_keyring

    with db.unit_of_work() as s:
        pid = enqueue_packet(s, kind="card.issued", subject_id="card-1", payload={"x": 1})
        row = s.scalar(select(OutboxRow).where(OutboxRow.packet_id == pid))
    ring = load_keyring(office_settings, side="office")
    doc = env.seal_packet(content=row.content.encode(), office_code="18.01", sender=ring.active,
                          recipient=central_keys(office_settings)[-1])
    first = central_client.post("/api/v1/sync/packets", json=doc)
    # a resend is sealed afresh (new ephemeral key) yet is the same packet
    doc2 = env.seal_packet(content=row.content.encode(), office_code="18.01", sender=ring.active,
                           recipient=central_keys(office_settings)[-1])
    second = central_client.post("/api/v1/sync/packets", json=doc2)
    assert first.status_code == second.status_code == 200
    assert first.json()["receipt"] == second.json()["receipt"]
    assert second.json()["duplicate"] is True
    assert _count(central_db, CentralPacketRow) == 1
    env.verify_receipt(first.json()["receipt"], packet_id=pid, office_code="18.01",
                       central_keys=central_keys(office_settings))


def test_unregistered_office_is_refused_and_logged(linked, db, central_db, central_client, office_settings):
    from ktpel.sync import envelope as env
    from ktpel.keys.keyring import KeyPair, central_keys
    from ktpel.office.sync.outbox import packet_content

    content = packet_content(kind="card.issued", subject_id="c", payload={})
    doc = env.seal_packet(content=content, office_code="99.99", sender=KeyPair.generate(),
                          recipient=central_keys(office_settings)[-1])
    r = central_client.post("/api/v1/sync/packets", json=doc)
    assert r.status_code == 403 and r.json()["code"] == "unknown_office"
    assert _count(central_db, CentralPacketRow) == 0
    assert _count(central_db, RejectionRow, RejectionRow.reason == "unknown_office") == 1


def test_events_flow_back_in_order(linked, db, central_db, central_client, office_settings):
    from ktpel.store.schema.sync import OfficeAnnouncementRow
    from ktpel.office.sync.outage import current_state
    from ktpel.central.sync.service import announce_maintenance
    import datetime as dt

    now = clock_now()
    with central_db.unit_of_work() as s:
        announce_maintenance(s, starts_at=now - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=2),
                             message_id="Pemeliharaan server", message_en="Server maintenance")
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    report = agent.run_once(force=True)
    assert report.applied == 1
    with db.unit_of_work() as s:
        ann = current_state(s).announcement
        assert ann is not None and ann.message_id == "Pemeliharaan server"
    # pulling again applies nothing twice
    assert agent.run_once(force=True).applied == 0
    assert _count(db, OfficeAnnouncementRow) == 1
    with central_db.unit_of_work() as s:
        assert json.loads(s.scalar(select(CentralEventRow.data)))["message_en"] == "Server maintenance"


def test_event_handlers_work_with_the_context_the_agent_hands_them(linked, db, central_db, central_client,
                                                                   office_settings):
    """Handlers of central's events get the agent's HandlerContext (settings, clock), as central's intake
    handlers do: the announcement is stamped by the context's clock, not by one the handler looks up."""
    import datetime as dt

    from ktpel.central.sync.service import announce_maintenance
    from ktpel.store.schema.sync import OfficeAnnouncementRow
    from ktpel.sync.wiring import HandlerContext

    now = clock_now()
    with central_db.unit_of_work() as s:
        announce_maintenance(s, starts_at=now - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=2),
                             message_id="Pemeliharaan server", message_en="Server maintenance")
    stamped = (now - dt.timedelta(days=2)).replace(microsecond=0)  # a moment the real clock is not at
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db,
                      central_url="http://central.test", client=central_client,
                      context=HandlerContext(settings=office_settings, clock=lambda: stamped))
    assert agent.run_once(force=True).applied == 1
    with db.unit_of_work() as s:
        assert s.scalar(select(OfficeAnnouncementRow.received_at)) == stamped
    # without one, the agent hands its own settings and the shared clock
    plain = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, client=central_client)
    assert plain.context.settings is office_settings and plain.context.clock() >= now
