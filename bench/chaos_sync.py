"""Figure: a randomised kill -9 campaign of office and central during sync; lost and duplicated items.

Real processes on loopback: `ktpel central serve` and the office sync agent (`python -m ktpel.office.sender`).
Each trial queues a few recordings at the office, waits until the victim has made progress (so the kill
lands *during* sync), sleeps a random 0–300 ms, then kills a random victim (office or central) with
SIGKILL and restarts it. Start-up stays out of the loop: each victim is forked from a zygote that did
the imports (and, for central, built the app) once (tests/integration/sync/faults.py `Zygote`, shared
with the sync tests), so a restart is a fork and a bind, not seconds of importing. A rich progress bar shows the
trials; `--out FILE` appends every trial and the result as JSON lines, and SIGTERM/Ctrl-C stops starting
trials, drains and reports, so a cut-short run still counts what it ran. After the last trial everything
drains, then the campaign counts:

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
    .venv/bin/python bench/chaos_sync.py --trials 1000 --budget-s 2400 --out chaos-sqlite.jsonl

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
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ktpel.cli_console import progress_bar  # noqa: E402
from ktpel.config import Settings, find_shared_data  # noqa: E402
from ktpel.store.fields import FieldKeyring  # noqa: E402
from ktpel.store.db import open_database  # noqa: E402
from ktpel.store.schema.central import PipelineJobRow  # noqa: E402
from ktpel.store.schema.core import DomainEventRow, EnrollmentRow, ResidentRow  # noqa: E402
from ktpel.store.schema.sync import CentralEventRow, CentralPacketRow, OutboxRow, LinkRow  # noqa: E402
from ktpel.keys.keyring import init_keys  # noqa: E402
from ktpel.office.sync.outbox import enqueue_packet  # noqa: E402
from ktpel.central.sync.service import register_locally  # noqa: E402
from tests.integration.sync.faults import (  # noqa: E402 - the sync tests' fault tooling, shared
    central_zygote, free_port, sender_zygote, wait_healthy,
)

FAST = {"sync_backoff_base_s": 0.05, "sync_backoff_max_s": 0.3, "sync_interval_s": 0.1, "sync_timeout_s": 2.0,
        "sync_catchup_rate": 0.0}


def side(base: Path, *, name: str, url: str, keys: str, shared: Path, extra: dict) -> tuple[Settings, dict]:
    data = base / name
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "field.keys").write_text(keys)
    settings = Settings(data_dir=data, database_url=url, shared_data=shared, **extra)
    env = {**os.environ, "KTPEL_DATA_DIR": str(data), "KTPEL_DATABASE_URL": url, "KTPEL_SHARED_DATA": str(shared),
           "PYTHONUNBUFFERED": "1", **{f"KTPEL_{k.upper()}": str(v) for k, v in extra.items()}}
    return settings, env


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


class Cast:
    """The two victims, each forked from a zygote that did the start-up once: a kill -9 is followed by a
    fresh process that only has to bind (central) or open its database (office), so a trial is cheap."""

    def __init__(self, *, central_env: dict, office_env: dict, port: int, logs: dict) -> None:
        self.port, self.logs = port, logs
        url = f"http://127.0.0.1:{port}"
        self.zygotes = {"central": central_zygote(central_env, port=port, log=logs["central"]),
                        "office": sender_zygote(office_env, central_url=url, log=logs["office"])}
        self.live = {"central": self._start("central", timeout=300), "office": self._start("office", timeout=300)}

    def _start(self, role: str, *, timeout: float = 60):  # noqa: ANN202
        for attempt in range(10):
            proc = self.zygotes[role].fork(timeout=timeout)
            if role != "central":
                return proc
            try:
                return wait_healthy(proc, port=self.port, log=self.logs["central"], timeout=timeout)
            except RuntimeError as exc:
                # seen twice in ~2,600 restarts: the port still held for a moment after the kill
                if "address already in use" not in str(exc) or attempt == 9:
                    raise
                time.sleep(1.0)
        raise RuntimeError("central did not start")

    def kill_and_restart(self, role: str) -> None:
        self.live[role].kill9()
        self.live[role] = self._start(role)

    def stop(self) -> None:
        for proc in [*self.live.values(), *self.zygotes.values()]:
            proc.kill9()


def _interrupted(flag: dict):  # noqa: ANN202
    def handler(*_):  # noqa: ANN002, ANN202
        flag["stop"] = True
    return handler


def _write(path: Path | None, record: dict) -> None:
    if path is not None:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


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
    rng = random.Random(args.seed)
    logs = {"central": base / "central.log", "office": base / "sender.log"}
    out = Path(args.out) if args.out else None
    cast = Cast(central_env=central_env, office_env=office_env, port=free_port(), logs=logs)
    ids: list[str] = []
    kills = {"office": 0, "central": 0}
    started = time.monotonic()
    trials = 0
    flag = {"stop": False}
    signal.signal(signal.SIGTERM, _interrupted(flag))
    signal.signal(signal.SIGINT, _interrupted(flag))
    _write(out, {"event": "start", "backend": args.backend, "trials_planned": args.trials, "base": str(base)})
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"kill -9 ({args.backend})", total=args.trials)
            for trial in range(1, args.trials + 1):
                ids += queue_recordings(office_db, n=args.per_trial, start=len(ids))
                victim = rng.choice(("office", "central"))
                # the kill must land during sync: wait for progress on the victim's side first
                if victim == "office":
                    before = count(office_db, OutboxRow, OutboxRow.state == "SENT")
                    wait_until(lambda: count(office_db, OutboxRow, OutboxRow.state == "SENT") > before, timeout=30)
                else:
                    before = count(central_db, CentralPacketRow)
                    wait_until(lambda: count(central_db, CentralPacketRow) > before, timeout=30)
                time.sleep(rng.uniform(0.0, args.max_delay_s))
                try:
                    cast.kill_and_restart(victim)
                except RuntimeError as exc:  # stop the trials, but still drain and count what ran
                    _write(out, {"event": "error", "n": trial, "victim": victim, "error": str(exc)[-300:]})
                    bar.console.print(f"[red]trial {trial}: {victim} did not restart: {str(exc)[-200:]}[/red]")
                    break
                kills[victim] += 1
                trials = trial
                _write(out, {"event": "trial", "n": trial, "victim": victim, "recordings": len(ids),
                             "s": round(time.monotonic() - started, 1)})
                bar.update(task, advance=1, description=f"kill -9 ({args.backend}) office {kills['office']} "
                                                        f"central {kills['central']}")
                if flag["stop"] or (args.budget_s and time.monotonic() - started > args.budget_s):
                    break
            drain = bar.add_task("drain", total=len(ids))

            def drained_now() -> bool:
                done = count(office_db, EnrollmentRow, EnrollmentRow.id.in_(ids), EnrollmentRow.state == "RECEIVED")
                bar.update(drain, completed=done)
                return done == len(ids) and count(office_db, OutboxRow, OutboxRow.state != "SENT") == 0

            drained = wait_until(drained_now, timeout=args.drain_s)
    finally:
        cast.stop()
    result = {"backend": args.backend, "trials": trials, "kills": kills, "drained": drained,
              "seconds": round(time.monotonic() - started, 1), **tally(office_db, central_db, ids)}
    _write(out, {"event": "result", **result})
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
    ap.add_argument("--max-delay-s", type=float, default=0.3, help="random wait after progress, before the kill")
    ap.add_argument("--drain-s", type=float, default=300, help="how long the final drain may take")
    ap.add_argument("--out", default="", help="append each trial and the result as JSON lines (partial runs report)")
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
