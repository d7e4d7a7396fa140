"""Figure: N queued packets drain from an office to `ktpel central serve` on loopback.

Prints time, packets/s, and central CPU per packet (user+system time of the central process, the same
counters `resource.getrusage` reports), unthrottled and with the catch-up throttle on.

    .venv/bin/python bench/sync_drain.py                 # 10,000 packets (target: under 5 minutes)
    .venv/bin/python bench/sync_drain.py --packets 500   # quick check
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from ktpel.config import Settings
from ktpel.office import composition as office_composition
from ktpel.store.db import open_database
from ktpel.store.schema.sync import CentralPacketRow
from ktpel.office.sync.agent import SyncAgent
from ktpel.keys.keyring import init_keys
from ktpel.office.sync.outbox import enqueue_packet
from ktpel.central.sync.service import register_locally

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (what getrusage reports once it has been reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enqueue(db, n: int, *, payload_kb: int, tag: str) -> None:  # noqa: ANN001
    blob = "A" * (payload_kb * 1024)
    for start in range(0, n, 500):
        with db.unit_of_work() as s:
            for i in range(start, min(n, start + 500)):
                enqueue_packet(s, kind="card.issued", subject_id=f"{tag}-{i}", payload={"i": i, "blob": blob})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=10_000)
    ap.add_argument("--payload-kb", type=int, default=2)
    ap.add_argument("--throttle", type=float, default=100.0, help="catch-up rate for the throttled run (packets/s)")
    ap.add_argument("--throttled-packets", type=int, default=None,
                    help="packets for the throttled run (default: same as --packets)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops central and cleans up
    tmp = Path(tempfile.mkdtemp(prefix="ktpel-bench-sync-"))
    office = Settings(data_dir=tmp / "office", database_url=f"sqlite:///{tmp / 'office.db'}", sync_timeout_s=30)
    central = Settings(data_dir=tmp / "central", database_url=f"sqlite:///{tmp / 'central.db'}")
    (tmp / "central" / "keys").mkdir(parents=True)
    office_db = open_database(office, name="office")
    shutil.copyfile(office.data_dir / "keys" / "field.keys", tmp / "central" / "keys" / "field.keys")
    central_db = open_database(central, name="central")
    init_keys(office, side="office")
    init_keys(central, side="central")
    register_locally(office_settings=office, central_settings=central, central_db=central_db)
    port = free_port()
    env = {**os.environ, "KTPEL_DATA_DIR": str(central.data_dir), "KTPEL_DATABASE_URL": central.database_url}
    proc = subprocess.Popen([sys.executable, "-m", "ktpel.cli", "central", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        runs = [("unthrottled", 0.0, args.packets),
                (f"throttled {args.throttle:g}/s", args.throttle, args.throttled_packets or args.packets)]
        print(f"sync drain on loopback: payload {args.payload_kb} KiB, central = `ktpel central serve` (SQLite)")
        for name, rate, n in runs:
            enqueue(office_db, n, payload_kb=args.payload_kb, tag=name[:4])
            agent = SyncAgent(handlers=office_composition.SYNC, settings=office.model_copy(update={"sync_catchup_rate": rate,
                                                                  "sync_catchup_threshold": 1}),
                              db=office_db, central_url=url)
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            sent = 0
            while sent < n:
                report = agent.send_pending()
                sent += report.sent
                if report.stopped_because not in ("empty",):
                    time.sleep(0.2)
                elif report.sent == 0:
                    break
            elapsed, cpu = time.perf_counter() - t0, cpu_seconds(proc.pid) - cpu0
            print(f"  {name:>16}: {n} packets in {elapsed:7.1f} s = {n / elapsed:7.1f} packets/s; "
                  f"central CPU {1000 * cpu / n:.2f} ms/packet")
        with central_db.unit_of_work() as s:
            held = s.scalar(select(func.count()).select_from(CentralPacketRow))
        total = sum(n for _, _, n in runs)
        print(f"  central holds {held} packets (expected {total}) — {'OK' if held == total else 'MISMATCH'}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        office_db.dispose()
        central_db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
