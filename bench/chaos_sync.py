"""Figure: a randomised kill -9 campaign of office and central during sync; lost and duplicated items.

Real processes on loopback: `ktpel central serve` and the office sync agent (`python -m ktpel.office.sync.sender`).
Each trial queues a few recordings at the office, waits until the victim has made progress (so the kill
lands *during* sync), sleeps a random 0–300 ms, then kills a random victim (office or central) with
SIGKILL and restarts it. After the last trial everything drains, then the campaign counts:

* packets: every queued packet held by central exactly once (lost = queued but not held; duplicated =
  held twice, or two pipeline jobs for one packet);
* records: every recording RECEIVED at the office, with exactly one RECEIVED transition;
* notifications (the event channel back to the office, which drives resident notifications): exactly
  one `enrollment.received` event per recording at central, every event applied once at the office
  (cursor at the last sequence number, no gap).

    .venv/bin/python bench/chaos_sync.py --backend sqlite --trials 1000
    .venv/bin/python bench/chaos_sync.py --backend postgresql --trials 200 \\
        --pg-url postgresql://postgres@127.0.0.1:55432/postgres
    .venv/bin/python bench/chaos_sync.py --trials 20 --budget-s 120      # quick check

`--budget-s` stops the campaign early (the trials actually run are printed: report those, not --trials).
Goal: 0 lost and 0 duplicated of each kind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from ktpel.config import Settings, find_shared_data
from ktpel.store.fields import FieldKeyring
from ktpel.store.db import open_database
from ktpel.store.schema.central import PipelineJobRow
from ktpel.store.schema.core import DomainEventRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.sync import CentralEventRow, CentralPacketRow, OutboxRow, LinkRow
from ktpel.sync.keys import init_keys
from ktpel.office.sync.outbox import enqueue_packet
from ktpel.central.sync.service import register_locally

FAST = {"sync_backoff_base_s": 0.05, "sync_backoff_max_s": 0.3, "sync_interval_s": 0.1, "sync_timeout_s": 2.0,
        "sync_catchup_rate": 0.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child we may kill -9 at any instant (its own session, so nothing else is hit)."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")
        self.p = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill9(self) -> None:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=30)
        self.log.close()


def side(base: Path, *, name: str, url: str, keys: str, shared: Path, extra: dict) -> tuple[Settings, dict]:
    data = base / name
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "field.keys").write_text(keys)
    settings = Settings(data_dir=data, database_url=url, shared_data=shared, **extra)
    env = {**os.environ, "KTPEL_DATA_DIR": str(data), "KTPEL_DATABASE_URL": url, "KTPEL_SHARED_DATA": str(shared),
           "PYTHONUNBUFFERED": "1", **{f"KTPEL_{k.upper()}": str(v) for k, v in extra.items()}}
    return settings, env


def start_central(env: dict, *, port: int, log: Path) -> Proc:
    proc = Proc([sys.executable, "-m", "ktpel.cli", "central", "serve", "--port", str(port)], env=env, log=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.p.poll() is not None:
            raise RuntimeError(f"central exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill9()
    raise RuntimeError("central did not start")


def start_sender(env: dict, *, url: str, log: Path) -> Proc:
    return Proc([sys.executable, "-m", "ktpel.office.sync.sender", "--central", url], env=env, log=log)


def queue_recordings(db, *, n: int, start: int) -> list[str]:  # noqa: ANN001
    """n residents recorded and queued, each in one transaction with its packet (as the counter does)."""
    ids = []
    for i in range(start, start + n):
        with db.unit_of_work() as s:
            resident = ResidentRow(
                nik=f"180105{i:06d}0001"[:16], kk_number="1801050000000001", name=f"WARGA {i}",
                birth_place="KALIANDA", birth_date=dt.date(1990, 1, 1), sex="L", blood_type="O", street="JL. UJI",
                rt="001", rw="002", village_code="18.01.05.2001", district_code="18.01.05", regency_code="18.01",
                religion="ISLAM", marital_status="KAWIN", occupation="PETANI", citizenship="WNI",
                family_role="KEPALA KELUARGA")
            s.add(resident)
            s.flush()
            eid = uuid.uuid4().hex
            s.add(EnrollmentRow(id=eid, resident_id=resident.id, office_code="18.01", state="QUEUED",
                                receipt_number=f"R{i:08d}{eid[:6]}"))
            s.flush()
            enqueue_packet(s, kind="enrollment", subject_id=eid, payload={"nik": resident.nik, "n": i})
            ids.append(eid)
    return ids


def count(db, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def wait_until(predicate, *, timeout: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def tally(office_db, central_db, ids: list[str]) -> dict:  # noqa: ANN001
    with office_db.unit_of_work() as s:
        queued = {r.packet_id for r in s.scalars(select(OutboxRow).where(OutboxRow.kind == "enrollment"))}
        received = count(office_db, EnrollmentRow, EnrollmentRow.id.in_(ids), EnrollmentRow.state == "RECEIVED")
        transitions = dict(s.execute(select(DomainEventRow.subject_id, func.count()).where(
            DomainEventRow.name == "enrollment.receive").group_by(DomainEventRow.subject_id)).all())
        cursor = s.scalar(select(func.max(LinkRow.event_cursor))) or 0
    with central_db.unit_of_work() as s:
        held = list(s.scalars(select(CentralPacketRow.packet_id).where(CentralPacketRow.kind == "enrollment")))
        jobs = list(s.scalars(select(PipelineJobRow.packet_id)))
        events = dict(s.execute(select(CentralEventRow.subject_id, func.count()).where(
            CentralEventRow.kind == "enrollment.received").group_by(CentralEventRow.subject_id)).all())
        seqs = list(s.scalars(select(CentralEventRow.seq).where(CentralEventRow.office_code == "18.01")))
    held_set = set(held)
    return {
        "recordings": len(ids),
        "packets_lost": len(queued - held_set),
        "packets_duplicated": (len(held) - len(held_set)) + (len(jobs) - len(set(jobs))),
        "records_lost": len(ids) - received,
        "records_duplicated": sum(1 for e in ids if transitions.get(e, 0) > 1),
        "notifications_lost": sum(1 for e in ids if events.get(e, 0) == 0) + max(0, (max(seqs) if seqs else 0) - cursor),
        "notifications_duplicated": sum(1 for e in ids if events.get(e, 0) > 1),
        "event_seq_gaps": len(set(range(1, (max(seqs) if seqs else 0) + 1)) - set(seqs)),
    }


def make_databases(backend: str, base: Path, pg_url: str | None) -> tuple[str, str, list[str]]:
    if backend == "sqlite":
        return f"sqlite:///{base}/office.db", f"sqlite:///{base}/central.db", []
    import psycopg

    names = [f"ktpel_chaos_{w}_{uuid.uuid4().hex[:8]}" for w in ("office", "central")]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for n in names:
            conn.execute(f'CREATE DATABASE "{n}"')
    root = pg_url.rsplit("/", 1)[0]
    return f"{root}/{names[0]}", f"{root}/{names[1]}", names


def drop_databases(pg_url: str | None, names: list[str]) -> None:
    if not names:
        return
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def campaign(args: argparse.Namespace) -> dict:
    shared = find_shared_data() or Path("/work/shared/data")
    base = Path(tempfile.mkdtemp(prefix="ktpel-chaos-"))
    office_url, central_url, pg_names = make_databases(args.backend, base, args.pg_url)
    keys = FieldKeyring.generate().dumps()
    office_settings, office_env = side(base, name="office", url=office_url, keys=keys, shared=shared, extra=FAST)
    central_settings, central_env = side(base, name="central", url=central_url, keys=keys, shared=shared, extra={})
    office_db = open_database(office_settings, name="office")
    central_db = open_database(central_settings, name="central")
    init_keys(office_settings, side="office")
    init_keys(central_settings, side="central")
    register_locally(office_settings=office_settings, central_settings=central_settings, central_db=central_db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(args.seed)
    logs = {"central": base / "central.log", "office": base / "sender.log"}
    procs = {"central": start_central(central_env, port=port, log=logs["central"]),
             "office": start_sender(office_env, url=url, log=logs["office"])}
    ids: list[str] = []
    kills = {"office": 0, "central": 0}
    started = time.monotonic()
    trials = 0
    try:
        for trials in range(1, args.trials + 1):
            ids += queue_recordings(office_db, n=args.per_trial, start=len(ids))
            victim = rng.choice(("office", "central"))
            # the kill must land during sync: wait for progress on the victim's side first
            if victim == "office":
                before = count(office_db, OutboxRow, OutboxRow.state == "SENT")
                wait_until(lambda: count(office_db, OutboxRow, OutboxRow.state == "SENT") > before, timeout=30)
            else:
                before = count(central_db, CentralPacketRow)
                wait_until(lambda: count(central_db, CentralPacketRow) > before, timeout=30)
            time.sleep(rng.uniform(0.0, 0.3))
            procs[victim].kill9()
            kills[victim] += 1
            procs[victim] = (start_central(central_env, port=port, log=logs["central"]) if victim == "central"
                             else start_sender(office_env, url=url, log=logs["office"]))
            if trials % 10 == 0:
                print(f"  trial {trials}: {len(ids)} recordings, kills {kills}, "
                      f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            if args.budget_s and time.monotonic() - started > args.budget_s:
                break
        drained = wait_until(lambda: count(office_db, EnrollmentRow, EnrollmentRow.id.in_(ids),
                                           EnrollmentRow.state == "RECEIVED") == len(ids)
                             and count(office_db, OutboxRow, OutboxRow.state != "SENT") == 0, timeout=300)
    finally:
        for p in procs.values():
            p.kill9()
    result = {"backend": args.backend, "trials": trials, "kills": kills, "drained": drained,
              "seconds": round(time.monotonic() - started, 1), **tally(office_db, central_db, ids)}
    office_db.dispose()
    central_db.dispose()
    drop_databases(args.pg_url, pg_names)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default=os.environ.get("KTPEL_TEST_PG_URL"))
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--per-trial", type=int, default=3, help="recordings queued per trial")
    ap.add_argument("--budget-s", type=float, default=0.0, help="stop starting trials after this many seconds")
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args()
    if args.backend == "postgresql" and not args.pg_url:
        ap.error("--pg-url (or KTPEL_TEST_PG_URL) is needed for PostgreSQL")
    result = campaign(args)
    print(json.dumps(result))
    bad = {k: v for k, v in result.items() if k.endswith(("_lost", "_duplicated", "_gaps")) and v}
    print(f"{result['backend']}: {result['trials']} trials ({result['kills']['office']} office, "
          f"{result['kills']['central']} central kills), {result['recordings']} recordings in {result['seconds']} s: "
          f"lost/duplicated packets {result['packets_lost']}/{result['packets_duplicated']}, records "
          f"{result['records_lost']}/{result['records_duplicated']}, notifications "
          f"{result['notifications_lost']}/{result['notifications_duplicated']}"
          + ("" if not bad and result["drained"] else f"  FAILED {bad or 'did not drain'}"))


if __name__ == "__main__":
    main()
