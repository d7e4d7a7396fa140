"""Faults on the real thing: kill -9 of office sender and of `ktpel central serve` mid-transfer, and a link
that drops, stalls, truncates and delays. Every packet arrives exactly once, the outbox empties, states are right.

These use SQLite files and real subprocesses (PostgreSQL intake semantics are covered by the other tests).
"""

from __future__ import annotations

import random
import time

import httpx
import pytest
from sqlalchemy import func, select

from ktpel.office import composition as office_composition
from ktpel.store.db import open_database
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.sync import CentralEventRow, CentralPacketRow, OutboxRow
from ktpel.office.sync.agent import SyncAgent
from ktpel.keys.keyring import init_keys
from ktpel.central.sync.service import register_locally
from tests.integration.sync.builders import queued_enrollment
from tests.integration.sync.faults import FaultProxy, free_port, make_side, start_central, start_sender

PACKETS = 30


@pytest.fixture
def two_sides(tmp_path, _templates, shared_data):
    """Office and central data dirs with SQLite databases, keys, and the office registered."""
    if _templates.sqlite is None:
        from ktpel.config import Settings

        path = _templates.tmp / "template.db"
        keyfile = _templates.tmp / "tpl-data" / "keys" / "field.keys"
        keyfile.parent.mkdir(parents=True, exist_ok=True)
        keyfile.write_text(_templates.keyring().dumps())
        open_database(Settings(data_dir=keyfile.parent.parent, database_url=f"sqlite:///{path}",
                               shared_data=shared_data)).dispose()
        _templates.sqlite = path
    fast = {"sync_backoff_base_s": 0.05, "sync_backoff_max_s": 0.3, "sync_interval_s": 0.1,
            "sync_timeout_s": 2.0, "sync_catchup_rate": 25.0, "sync_catchup_threshold": 1}
    office = make_side(tmp_path, name="office", template_db=_templates.sqlite,
                       field_keys=_templates.keyring().dumps(), shared=shared_data, **fast)
    central = make_side(tmp_path, name="central", template_db=_templates.sqlite,
                        field_keys=_templates.keyring().dumps(), shared=shared_data)
    init_keys(office.settings, side="office")
    init_keys(central.settings, side="central")
    office_db = open_database(office.settings, name="office", migrate=False)
    central_db = open_database(central.settings, name="central", migrate=False)
    register_locally(office_settings=office.settings, central_settings=central.settings, central_db=central_db)
    with office_db.unit_of_work() as s:
        ids = [queued_enrollment(s, n=n)[0] for n in range(PACKETS)]
    yield office, central, office_db, central_db, ids
    office_db.dispose()
    central_db.dispose()


def _count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _assert_exactly_once(office_db, central_db, ids: list[str]) -> None:  # noqa: ANN001
    with office_db.unit_of_work() as s:
        outbox = list(s.scalars(select(OutboxRow)))
        states = {r.id: r.state for r in s.scalars(select(EnrollmentRow).where(EnrollmentRow.id.in_(ids)))}
    with central_db.unit_of_work() as s:
        stored = list(s.scalars(select(CentralPacketRow.packet_id)))
        # besides the recordings, each outage the kills caused is reported once it is over (outage.report)
        recordings = list(s.scalars(select(CentralPacketRow.packet_id).where(CentralPacketRow.kind == "enrollment")))
        seqs = list(s.scalars(select(CentralEventRow.seq).where(CentralEventRow.office_code == "18.01")
                              .order_by(CentralEventRow.seq)))
        received = s.scalar(select(func.count()).select_from(CentralEventRow)
                            .where(CentralEventRow.kind == "enrollment.received"))
    assert all(r.state == "SENT" and r.receipt for r in outbox), "outbox did not empty"
    assert sorted(stored) == sorted(r.packet_id for r in outbox), "a packet is missing or extra at central"
    assert len(stored) == len(set(stored)) and len(recordings) == len(ids)
    assert seqs == list(range(1, len(seqs) + 1)), "event sequence has a gap"
    assert received == len(ids), "each packet produced exactly one RECEIVED event"
    assert set(states.values()) == {"RECEIVED"}, states


def _wait_until(predicate, *, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(240)
def test_kill9_of_office_and_central_at_random_points(two_sides, tmp_path):
    office, central, office_db, central_db, ids = two_sides
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(20261129)
    central_proc = start_central(central, port=port, log=tmp_path / "central.log")
    sender = start_sender(office, central_url=url, log=tmp_path / "sender.log")
    kills = {"office": 0, "central": 0}
    try:
        for _ in range(3):
            # kill the office while it is sending: after it made progress, at a random instant
            before = _count(office_db, OutboxRow, OutboxRow.state == "SENT")
            if before < PACKETS:
                _wait_until(lambda: _count(office_db, OutboxRow, OutboxRow.state == "SENT") > before,
                            timeout=60, what="the sender to make progress")
                time.sleep(rng.uniform(0.0, 0.3))
                sender.kill9()
                kills["office"] += 1
                sender = start_sender(office, central_url=url, log=tmp_path / "sender.log")
            # then kill central while it receives
            held = _count(central_db, CentralPacketRow)
            if held < PACKETS:
                _wait_until(lambda: _count(central_db, CentralPacketRow) > held, timeout=60,
                            what="central to receive")
                time.sleep(rng.uniform(0.0, 0.3))
                central_proc.kill9()
                kills["central"] += 1
                central_proc = start_central(central, port=port, log=tmp_path / "central.log")
        _wait_until(lambda: _count(office_db, EnrollmentRow, EnrollmentRow.state == "RECEIVED") == PACKETS,
                    timeout=90, what="every enrollment RECEIVED")
        # the report of the last outage is queued when central answers again: let it go out too
        _wait_until(lambda: _count(office_db, OutboxRow, OutboxRow.state != "SENT") == 0, timeout=60,
                    what="the outbox to empty")
    finally:
        sender.kill9()
        central_proc.kill9()
    assert kills["office"] >= 1 and kills["central"] >= 1
    _assert_exactly_once(office_db, central_db, ids)


@pytest.mark.timeout(180)
def test_lossy_link_drops_stalls_truncates_and_delays(two_sides, tmp_path):
    from tests.e2e.conftest import LiveServer
    from ktpel.web.app import create_app

    office, central, office_db, central_db, ids = two_sides
    server = LiveServer(create_app(settings=central.settings, side="central", db=central_db)).start()
    proxy = FaultProxy(target_port=server.port, seed=5)
    # one connection per request, so every request meets the proxy's dice
    client = httpx.Client(timeout=0.6, limits=httpx.Limits(max_keepalive_connections=0))
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office.settings.model_copy(update={"sync_catchup_rate": 0.0}), db=office_db,
                      central_url=proxy.url, client=client)
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            agent.run_once(force=True)
            # done when every recording is RECEIVED and the outage reports the faults caused went out too
            if _count(office_db, EnrollmentRow, EnrollmentRow.state == "RECEIVED") == PACKETS \
                    and _count(office_db, OutboxRow, OutboxRow.state != "SENT") == 0:
                break
    finally:
        proxy.close()
        server.stop()
    faults = {m: n for m, n in proxy.counts.items() if m != "pass"}
    assert all(n >= 1 for n in faults.values()), proxy.counts
    _assert_exactly_once(office_db, central_db, ids)
