"""The sender: claims due messages, sends them through the office's channel, records what happened.

Never twice: a message is sent only by the sender holding its lease (claimed by compare-and-set), its
outcome is written only under that lease, and its id travels as the provider's idempotency key.
Retries back off exponentially (Settings.notify_backoff_s doubling, capped at an hour; a provider's
Retry-After wins when longer); after Settings.notify_max_attempts the message is FAILED and shown.
Quiet hours: nothing is claimed inside them. Opt-out: consent is re-checked just before sending.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ktpel.config import Settings
from ktpel.domain.events import utcnow
from ktpel.office.notify import outbox
from ktpel.office.notify.channels import Channel, Outgoing, channel_for
from ktpel.office.notify.errors import ChannelError
from ktpel.office.notify.service import compose_for, quiet_until
from ktpel.store.db import Database
from ktpel.store.schema.core import PhoneRow

log = logging.getLogger("ktpel.office.notify")

MAX_BACKOFF_S = 3600.0


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    quiet_until: dt.datetime | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed, "skipped": self.skipped,
                "quiet_until": self.quiet_until.isoformat() if self.quiet_until else None}


def backoff(*, attempts: int, base_s: float, retry_after: float | None = None) -> float:
    """Delay before the next try: base · 2^(attempts-1) with ±10 % jitter, capped; Retry-After when longer."""
    delay = min(base_s * (2 ** max(0, attempts - 1)), MAX_BACKOFF_S) * random.uniform(0.9, 1.1)
    return max(delay, retry_after or 0.0)


def _deliver(db: Database, settings: Settings, channel: Channel, claimed: outbox.Claimed,
             report: SendReport, lock: threading.Lock, now: dt.datetime) -> None:
    with db.unit_of_work() as session:
        phone = session.get(PhoneRow, claimed.phone_id) if claimed.phone_id is not None else None
        if phone is None or not phone.consent:
            outbox.finish(session, claimed=claimed, state=outbox.SKIPPED, error="opt-out: consent withdrawn")
            with lock:
                report.skipped += 1
            return
        text, params = compose_for(session, settings=settings, resident_id=claimed.resident_id,
                                   trigger=claimed.trigger, variables=claimed.variables)
    message = Outgoing(id=claimed.id, to=claimed.recipient, body=text, trigger=claimed.trigger, parameters=params)
    try:
        provider_id = channel.send(message)
    except ChannelError as exc:
        final = exc.permanent or claimed.attempts >= settings.notify_max_attempts
        when = now + dt.timedelta(seconds=backoff(attempts=claimed.attempts, base_s=settings.notify_backoff_s,
                                                       retry_after=exc.retry_after))
        with db.unit_of_work() as session:
            outbox.finish(session, claimed=claimed, state=outbox.FAILED if final else outbox.PENDING,
                          channel=channel.name, body=text, error=exc.message_en,
                          next_attempt_at=None if final else when)
        with lock:
            if final:
                report.failed += 1
            else:
                report.retrying += 1
            report.errors.append(f"{claimed.id}: {exc.message_en}")
        log.warning("notify %s attempt %d: %s", claimed.id, claimed.attempts, exc.message_en)
        return
    with db.unit_of_work() as session:
        kept = outbox.finish(session, claimed=claimed, state=outbox.SENT, channel=channel.name, body=text,
                             provider_id=provider_id)
    if not kept:
        log.error("notify %s: lease lost after sending (provider id %s)", claimed.id, provider_id)
    with lock:
        report.sent += 1


def send_once(db: Database, settings: Settings, *, channel: Channel | None = None, now: dt.datetime | None = None,
              limit: int = 200, concurrency: int = 1) -> SendReport:
    """One pass: send every due message (up to `limit`), unless inside quiet hours."""
    now = now or utcnow()
    report = SendReport()
    quiet = quiet_until(now, settings=settings)
    if quiet is not None:
        report.quiet_until = quiet
        return report
    lease_s = settings.notify_timeout_s * 3 + 30
    with db.unit_of_work() as session:
        claimed = outbox.claim_due(session, now=now, limit=limit, lease_s=lease_s)
    if not claimed:
        return report
    own = channel is None
    channel = channel or channel_for(settings)
    lock = threading.Lock()
    try:
        if concurrency <= 1:
            for c in claimed:
                _deliver(db, settings, channel, c, report, lock, now)
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(lambda c: _deliver(db, settings, channel, c, report, lock, now), claimed))
    finally:
        if own:
            channel.close()
    return report


def run_until_stopped(db: Database, settings: Settings, *, stop: threading.Event, interval_s: float = 5.0) -> None:
    """The background loop for `office serve` / `ktpel office notify --loop`."""
    channel = channel_for(settings)
    try:
        while not stop.is_set():
            try:
                report = send_once(db, settings, channel=channel)
            except Exception:  # the loop must survive a bad pass; the error is logged, the next pass retries
                log.exception("notification pass failed")
                report = SendReport()
            if report.sent == 0 and report.retrying == 0:
                stop.wait(interval_s)
    finally:
        channel.close()


def start_in_background(db: Database, settings: Settings, *, interval_s: float = 5.0) -> threading.Event:
    """Start the sender loop in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_until_stopped, args=(db, settings), kwargs={"stop": stop, "interval_s": interval_s},
                     name="ktpel-notify", daemon=True).start()
    return stop
