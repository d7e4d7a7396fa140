"""Key rotation without losing packets in flight, registration over HTTP, and Retry-After obeyed."""

from __future__ import annotations

import datetime as dt
import os
import stat

from sqlalchemy import select

from ktpel.domain.events import utcnow
from ktpel.office import composition as office_composition
from ktpel.store.schema.sync import CentralPacketRow, LinkRow, OutageRow, OutboxRow, SyncOfficeRow
from ktpel.office.sync.agent import SyncAgent
from ktpel.keys.keyring import central_keys, init_keys, keyring_path, load_central_trust, load_keyring, rotate_keys
from ktpel.office.sync.outbox import enqueue_packet
from ktpel.office.sync.service import register_with_central


def test_key_files_are_private(linked, office_settings):
    mode = stat.S_IMODE(os.stat(keyring_path(office_settings, side="office")).st_mode)
    assert mode == 0o600
    ring, created = init_keys(office_settings, side="office")
    assert not created and ring.active.kid == load_keyring(office_settings, side="office").active.kid


def test_office_key_rotation_keeps_in_flight_packets_valid(linked, db, central_db, central_client, office_settings):
    from ktpel.sync import envelope as env

    with db.unit_of_work() as s:
        pid = enqueue_packet(s, kind="card.issued", subject_id="c-1", payload={})
        row = s.scalar(select(OutboxRow).where(OutboxRow.packet_id == pid))
    old = load_keyring(office_settings, side="office").active
    in_flight = env.seal_packet(content=row.content.encode(), office_code="18.01", sender=old,
                                recipient=central_keys(office_settings)[-1])
    rotate_keys(office_settings, side="office")
    # the new key reaches central through registration, proven by the old key
    register_with_central(office_settings, central_url="http://central.test", client=central_client)
    with central_db.unit_of_work() as s:
        assert len(s.get(SyncOfficeRow, "18.01").keys) == 2
    with db.unit_of_work() as s:
        enqueue_packet(s, kind="card.issued", subject_id="c-2", payload={})
    assert central_client.post("/api/v1/sync/packets", json=in_flight).status_code == 200  # signed by old key
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    assert agent.run_once(force=True).sent == 2  # c-1 again (same receipt) and c-2 with the new key
    with central_db.unit_of_work() as s:
        assert len(list(s.scalars(select(CentralPacketRow.packet_id)))) == 2


def test_new_office_keys_without_proof_are_refused(linked, central_client, office_settings, tmp_path):
    from ktpel.keys.keyring import KeyPair

    body = {"office_code": "18.01", "name": "impostor", "keys": [KeyPair.generate().public().to_dict()]}
    r = central_client.post("/api/v1/sync/register", json=body)
    assert r.status_code == 403


def test_central_rotation_is_learned_from_a_list_signed_by_a_trusted_key(linked, central_settings, central_client,
                                                                        office_settings):
    def served() -> str:
        return str(central_client.get("/api/v1/sync/keys").json())

    old_kid = load_keyring(central_settings, side="central").active.kid
    assert old_kid in served()
    rotate_keys(central_settings, side="central")  # the running central picks it up: no restart
    new_kid = load_keyring(central_settings, side="central").active.kid
    assert new_kid != old_kid and new_kid in served()
    register_with_central(office_settings, central_url="http://central.test", client=central_client)
    trusted = {k.kid for k in load_central_trust(office_settings)}
    assert {p.kid for p in load_keyring(central_settings, side="central").pairs} <= trusted


def test_agent_obeys_retry_after_and_does_not_call_it_an_outage(linked, db, central_client, office_settings,
                                                                central_settings):
    central_client.app.state.settings = central_settings.model_copy(update={"central_rate_per_s": 0.5})
    central_client.app.state.sync_gate = None
    with db.unit_of_work() as s:
        for i in range(3):
            enqueue_packet(s, kind="card.issued", subject_id=f"c-{i}", payload={})
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    report = agent.run_once(force=True)
    assert report.sent == 1 and report.stopped_because == "busy"
    with db.unit_of_work() as s:
        link = s.get(LinkRow, 1)
        assert link.reachable and s.scalar(select(OutageRow)) is None
        assert link.next_attempt_at > utcnow() + dt.timedelta(seconds=1)
    assert agent.run_once().stopped_because == "backoff"  # it waits as told instead of hammering
