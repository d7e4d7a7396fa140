"""Notification throughput: messages per second through the HTTP SMS channel, 5 % provider failures injected.

Run: .venv/bin/python bench/notify_sms.py [--messages 2000] [--concurrency 8] [--failure-rate 0.05]

Setup: a fresh SQLite office database in a temp dir, N residents each with one consenting mobile phone,
one `print_ready` message queued per resident (outbox.enqueue), and the local fake provider
(tests/fakes/sms_provider.py) on loopback answering 500 to a random 5 % of posts. The sender runs
`send_once` passes (backoff 0, no quiet hours) until the outbox is empty.
Figures printed:
- messages/s end to end (claim → compose → HTTP post → record), retries included;
- the same-run baseline: raw httpx posts of the same bodies to the same server, no outbox (upper bound);
- the check: every message delivered exactly once at the provider, and no accepted post repeated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from ktpel.config import Settings  # noqa: E402
from ktpel.office.notify.channels import HttpSmsChannel  # noqa: E402
from ktpel.office.notify.outbox import enqueue  # noqa: E402
from ktpel.office.notify.sender import send_once  # noqa: E402
from ktpel.store.db import open_database  # noqa: E402
from ktpel.store.schema.core import PhoneRow, ResidentRow  # noqa: E402
from ktpel.store.schema.notify import NotifyMessageRow  # noqa: E402
from tests.fakes.sms_provider import FakeProvider  # noqa: E402


def seed(db, n: int) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        for i in range(n):
            r = ResidentRow(nik=f"1801054101{i:06d}", kk_number=f"1801051201{i:06d}", name=f"WARGA {i}",
                            birth_place="KALIANDA", birth_date=dt.date(1990, 1, 1), sex="P", blood_type="O",
                            street="JL. MERDEKA", rt="001", rw="001", village_code="18.01.05.2001",
                            district_code="18.01.05", regency_code="18.01", religion="ISLAM",
                            marital_status="KAWIN", occupation="PETANI", family_role="ISTRI")
            s.add(r)
            s.flush()
            s.add(PhoneRow(resident_id=r.id, number=f"+62812{i:08d}", takes_sms=True, consent=True))
            s.flush()
            enqueue(s, resident_id=r.id, trigger="print_ready", variables={"ref": str(i)})


def baseline(url: str, n: int, concurrency: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    client = httpx.Client(timeout=5)
    body = "Yth. WARGA, KTP-El Anda siap dicetak. " * 4

    def post(i: int) -> None:
        key = "base-" + uuid.uuid4().hex
        while client.post(url, json={"to": f"+62812{i:08d}", "message": body, "id": key},
                          headers={"Idempotency-Key": key}).status_code != 200:
            pass

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, range(n)))
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--failure-rate", type=float, default=0.05)
    args = ap.parse_args()
    import logging

    logging.getLogger("ktpel.office.notify").setLevel(logging.ERROR)  # injected 500s are expected, not news
    tmp = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'office.db'}", notify_backoff_s=0.0,
                        notify_quiet_hours="", notify_max_attempts=20)
    db = open_database(settings)
    seed(db, args.messages)
    with FakeProvider(failure_rate=args.failure_rate, seed=11) as provider:
        channel = HttpSmsChannel(url_template=provider.url + "/sms?to={to}", timeout_s=5)
        passes, t0 = 0, time.perf_counter()
        while True:
            report = send_once(db, settings, channel=channel, limit=500, concurrency=args.concurrency)
            passes += 1
            if report.sent == 0 and report.retrying == 0 and report.failed == 0:
                break
        elapsed = time.perf_counter() - t0
        with db.unit_of_work() as s:
            states = dict(s.execute(select(NotifyMessageRow.state, func.count()).group_by(NotifyMessageRow.state)).all())
            attempts = s.scalar(select(func.sum(NotifyMessageRow.attempts))) or 0
        once = len(provider.delivered) == args.messages and all(v == 1 for v in provider.delivered.values())
        no_twice = all(v == 1 for v in provider.accepted_posts.values())
        injected = sum(1 for _ in provider.requests) - len(provider.accepted_posts)
        channel.close()
        base = baseline(provider.url + "/sms", min(args.messages, 2000), args.concurrency)
    rate = args.messages / elapsed
    print(f"messages: {args.messages}  concurrency: {args.concurrency}  injected failure rate: {args.failure_rate:.0%}")
    print(f"states: {states}  attempts: {attempts}  provider 500s: {injected}  passes: {passes}")
    print(f"throughput: {rate:.0f} messages/s through the outbox + HTTP SMS channel ({elapsed:.2f} s)")
    print(f"baseline: {base:.0f} raw HTTP posts/s to the same fake provider; ratio outbox/raw = {rate / base:.2f}")
    print(f"all delivered once: {once}; none twice: {no_twice}")
    if not (once and no_twice and states == {"SENT": args.messages}):
        raise SystemExit("FAILED: delivery check")


if __name__ == "__main__":
    main()
