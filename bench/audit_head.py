"""Figure: audited transactions per second on PostgreSQL with concurrent writers (the audit-head row).

Each of `--writers` threads runs `--per-writer` transactions that each append one audit entry and then
hold the transaction open for `--hold-ms` (the rest of a request's writes: the recording, the outbox
packet). With the head row locked by `record_audit` until commit, the writers queue on that row and
throughput is at most 1000 / hold-ms transactions a second whatever the number of writers; without it,
they overlap. Prints transactions/s and p50/p95 latency per transaction, then verifies the chain.

    .venv/bin/python bench/audit_head.py --pg-url postgresql://postgres@127.0.0.1:55432/postgres
    PYTHONPATH=<other checkout>/src .venv/bin/python bench/audit_head.py ...   # the same bench on other code
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path


def run(args: argparse.Namespace) -> dict:
    import psycopg

    from ktpel.config import Settings, find_shared_data
    from ktpel.security.audit import record_audit, verify_chain
    from ktpel.store.fields import FieldKeyring
    from ktpel.store.db import open_database

    name = f"ktpel_audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    data = Path(tempfile.mkdtemp(prefix="ktpel-audit-"))
    (data / "keys").mkdir()
    (data / "keys" / "field.keys").write_text(FieldKeyring.generate().dumps())
    settings = Settings(data_dir=data, database_url=f"{args.pg_url.rsplit('/', 1)[0]}/{name}",
                        shared_data=find_shared_data())
    db = open_database(settings, name="office")
    latencies: list[float] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        mine = []
        for i in range(args.per_writer):
            t0 = time.perf_counter()
            with db.unit_of_work() as s:
                record_audit(s, actor=f"op{w:02d}", action="bench.write", subject=f"E-{w}-{i}",
                             after={"i": i}, source_ip="127.0.0.1")
                time.sleep(args.hold_ms / 1000)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(args.writers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    with db.unit_of_work() as s:
        report = verify_chain(s)
    db.dispose()
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    q = statistics.quantiles(latencies, n=20)
    return {"writers": args.writers, "transactions": len(latencies), "hold_ms": args.hold_ms,
            "tx_per_s": round(len(latencies) / wall, 1), "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(q[18] * 1000, 1), "chain_entries": report.entries, "chain_ok": report.ok,
            "load_average": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default=os.environ.get("KTPEL_TEST_PG_URL"))
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--per-writer", type=int, default=25)
    ap.add_argument("--hold-ms", type=float, default=20.0)
    args = ap.parse_args()
    if not args.pg_url:
        ap.error("--pg-url (or KTPEL_TEST_PG_URL) is needed")
    r = run(args)
    print(json.dumps(r))
    print(f"{r['writers']} writers, {r['transactions']} audited transactions holding {r['hold_ms']} ms: "
          f"{r['tx_per_s']} tx/s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms; chain {r['chain_entries']} entries, "
          f"{'verifies' if r['chain_ok'] else 'BROKEN'} (load average {r['load_average']})")


if __name__ == "__main__":
    main()
