"""The office sync agent: drains the outbox to central and pulls events back, surviving any interruption.

All state lives in the database (outbox rows, the link row with backoff and event cursor), so a crash at
any instant resumes correctly: a packet central stored but whose receipt never arrived is simply sent
again and central answers with the very same receipt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random
import threading
import time

import httpx

from ktpel.config import Settings
from ktpel.domain.delivery import PacketState
from ktpel.domain.events import utcnow
from ktpel.security.tls import client_verify
from ktpel.store.db import Database
from ktpel.store.schema.sync import OutboxRow
from ktpel.sync import envelope as env
from ktpel.keys import keyring as keymod
from ktpel.office.sync.apply import apply_events
from ktpel.office.sync.outage import link, record_failure, record_success
from ktpel.office.sync.outbox import SENT, next_queued, queued_count
from ktpel.sync.wiring import HandlerContext, OfficeHandlers

log = logging.getLogger("ktpel.office.sync.agent")

REFUSED = PacketState.REFUSED.value
# refusals that a resend cannot fix (the packet itself is bad); others (unknown office/key) wait for setup
PERMANENT = frozenset({"malformed", "bad_seal", "id_mismatch", "invalid_content", "unknown_kind", "stale",
                       "unsupported_version"})


@dataclasses.dataclass
class SyncReport:
    sent: int = 0
    applied: int = 0
    reachable: bool = True
    waited_s: float = 0.0
    stopped_because: str = ""


class Unreachable(Exception):
    """Central did not answer usefully (connection, timeout, 5xx, garbled reply)."""


class Busy(Exception):
    """Central asked us to come back later (429/503 with Retry-After)."""

    def __init__(self, status: int, retry_after: float) -> None:
        super().__init__(f"central busy ({status}), retry after {retry_after:.1f}s")
        self.status = status
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class SyncAgent:
    def __init__(self, *, settings: Settings, db: Database, handlers: OfficeHandlers,
                 central_url: str | None = None, client: httpx.Client | None = None,
                 context: HandlerContext | None = None) -> None:
        self.settings = settings
        self.db = db
        self.handlers = handlers  # the office's reactions to events and receipts (office.composition)
        # what every event handler gets besides the session (as central's intake handlers): settings, clock
        self.context = context or HandlerContext(settings=settings)
        self.office_code = settings.office_regency
        self.central_url = (central_url or self._trusted_url() or settings.central_url).rstrip("/")
        self.client = client or httpx.Client(timeout=settings.sync_timeout_s, verify=client_verify(settings))
        self._last_send = 0.0
        self._checkpoint_sent: tuple | None = None

    def _trusted_url(self) -> str | None:
        path = keymod.central_trust_path(self.settings)
        return json.loads(path.read_text()).get("central_url") if path.is_file() else None

    # -- backoff ---------------------------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        """Exponential backoff with jitter: half fixed, half random, so offices do not retry in step."""
        cap = min(self.settings.sync_backoff_max_s, self.settings.sync_backoff_base_s * 2 ** max(0, failures - 1))
        return cap / 2 + random.uniform(0, cap / 2)

    def _fail(self, cause: str) -> None:
        with self.db.unit_of_work() as s:
            failures = link(s).failures + 1
            wait = self._backoff(failures)
            opened = record_failure(s, cause=cause, next_attempt_at=utcnow() + dt.timedelta(seconds=wait))
        if opened:
            log.warning("central unreachable: %s", cause)

    def _busy(self, exc: Busy) -> None:
        with self.db.unit_of_work() as s:
            row = link(s)
            row.last_attempt = utcnow()
            row.last_error = str(exc)
            row.next_attempt_at = utcnow() + dt.timedelta(seconds=exc.retry_after)

    def due(self) -> bool:
        with self.db.unit_of_work() as s:
            row = link(s)
            return row.next_attempt_at is None or row.next_attempt_at <= utcnow()

    # -- transport -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kw) -> httpx.Response:  # noqa: ANN003
        # machine calls are authenticated by signatures; a stored cookie would only make central ask for CSRF
        self.client.cookies.clear()
        try:
            response = self.client.request(method, self.central_url + path, **kw)
            response.read()
        except httpx.HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in (429, 503):
            after = _retry_after(response)
            if after is not None:
                raise Busy(response.status_code, after)
        if response.status_code >= 500:
            raise Unreachable(f"HTTP {response.status_code}")
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            return response.json()
        except ValueError as exc:  # a truncated or garbled body
            raise Unreachable(f"unreadable reply: {exc}") from exc

    # -- sending ---------------------------------------------------------------------------------

    def send_one(self, row: OutboxRow, *, ring: keymod.Keyring, central: list[keymod.PublicKeys]) -> bool:
        """Send one packet; True when central's signed receipt came back and was recorded."""
        doc = env.seal_packet(content=row.content.encode("utf-8"), office_code=self.office_code,
                              sender=ring.active, recipient=central[-1])
        response = self._call("POST", "/api/v1/sync/packets", json=doc)
        body = self._json(response)
        if response.status_code != 200:
            reason = str(body.get("code", response.status_code))
            self._refused(row.seq, reason=reason, detail=str(body.get("detail", "")))
            return False
        try:
            receipt = env.verify_receipt(body.get("receipt"), packet_id=row.packet_id,
                                         office_code=self.office_code, central_keys=central)
        except env.Refused as exc:
            raise Unreachable(f"invalid receipt: {exc.detail}") from exc
        self._mark_sent(row.seq, receipt)
        return True

    def _refused(self, seq: int, *, reason: str, detail: str) -> None:
        log.error("central refused packet #%s: %s %s", seq, reason, detail)
        with self.db.unit_of_work() as s:
            row = s.get(OutboxRow, seq)
            row.attempts += 1
            row.last_error = f"{reason}: {detail}"[:500]
            if reason in PERMANENT:
                row.state = REFUSED
        if reason not in PERMANENT:
            raise Unreachable(f"refused: {reason}: {detail}")

    def _mark_sent(self, seq: int, receipt: dict) -> None:
        """Receipt in hand: the packet is SENT and its kind's handlers hear of it (a recording becomes SFE)."""
        with self.db.unit_of_work() as s:
            row = s.get(OutboxRow, seq)
            if row.state == SENT:
                return
            row.state, row.sent_at, row.attempts = SENT, utcnow(), row.attempts + 1
            row.receipt = json.dumps(receipt, sort_keys=True)
            for handler in self.handlers.packet_sent.get(row.kind, ()):
                handler(s, kind=row.kind, subject_id=row.subject_id, receipt=receipt)
            record_success(s, context=self.context, ended_hooks=self.handlers.outage_ended)

    def _throttle(self, rate: float) -> float:
        if rate <= 0:
            return 0.0
        wait = self._last_send + 1.0 / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_send = time.monotonic()
        return max(0.0, wait)

    def send_pending(self, *, limit: int | None = None, stop: threading.Event | None = None) -> SyncReport:
        """Send queued packets oldest first until the queue is empty, central fails, or `limit` is reached."""
        report = SyncReport()
        ring = keymod.load_keyring(self.settings, side="office")
        central = keymod.central_keys(self.settings)
        if not central:
            raise keymod.KeysMissing("Kantor belum terdaftar di pusat: jalankan `ktpel office register`.",
                                     "The office is not registered with central: run `ktpel office register`.")
        with self.db.unit_of_work() as s:
            was_down = not link(s).reachable
            backlog = queued_count(s)
        catch_up = was_down or backlog >= self.settings.sync_catchup_threshold
        rate = self.settings.sync_catchup_rate if catch_up else 0.0
        batch: list[OutboxRow] = []
        while limit is None or report.sent < limit:
            if stop is not None and stop.is_set():
                report.stopped_because = "stopped"
                break
            if not batch:
                # read ahead in order; each row is still marked SENT in its own transaction on its receipt
                with self.db.unit_of_work() as s:
                    batch = next_queued(s, limit=50)
                if not batch:
                    report.stopped_because = "empty"
                    break
            row = batch.pop(0)
            report.waited_s += self._throttle(rate)
            try:
                if self.send_one(row, ring=ring, central=central):
                    report.sent += 1
                else:
                    batch = []  # a refusal changed the queue: read it again
            except Busy as exc:
                self._busy(exc)
                report.stopped_because = "busy"
                break
            except Unreachable as exc:
                self._fail(str(exc))
                report.reachable = False
                report.stopped_because = "unreachable"
                break
        return report

    # -- events ----------------------------------------------------------------------------------

    def pull_events(self, *, batch: int = 200) -> int:
        """Fetch and apply events after our cursor until central has no more."""
        ring = keymod.load_keyring(self.settings, side="office")
        central = keymod.central_keys(self.settings)
        trusted = {k.kid: k.signing for k in central}
        applied = 0
        while True:
            with self.db.unit_of_work() as s:
                cursor = link(s).event_cursor
            path = "/api/v1/sync/events"
            response = self._call("GET", path, params={"after": cursor, "limit": batch},
                                  headers=env.request_headers(method="GET", path=path,
                                                              office_code=self.office_code, key=ring.active))
            if response.status_code != 200:
                raise Unreachable(f"events: HTTP {response.status_code}")
            try:
                events = env.open_events(self._json(response), office_code=self.office_code, after=cursor,
                                         central_keys=central, office=ring)
            except env.Refused as exc:
                raise Unreachable(f"events refused: {exc.detail}") from exc
            if not events:
                return applied
            applied += apply_events(self.db, events=events, handlers=self.handlers, context=self.context,
                                    central_keys=trusted)
            if len(events) < batch:
                return applied

    def send_audit_checkpoint(self) -> dict | None:
        """Sign our audit head, keep it in the local append-only file and hand it to central: the
        anchor outside this database (docs/security.md). A refusal is logged, never fatal."""
        from ktpel.security.checkpoints import write_checkpoint

        try:
            doc = write_checkpoint(self.settings, self.db, side="office")
        except OSError as exc:  # a full or read-only disk must not stop the packets
            log.error("audit checkpoint not written: %s", exc)
            return None
        if doc is None or (doc.get("seq"), doc.get("hash")) == self._checkpoint_sent:
            return None
        response = self._call("POST", "/api/v1/sync/audit-checkpoint", json=doc)
        self._checkpoint_sent = (doc.get("seq"), doc.get("hash"))  # a refusal is logged once, not every round
        if response.status_code != 200:
            log.error("central refused our audit checkpoint #%s: %s", doc.get("seq"), response.text[:200])
            return None
        return doc

    def central_checkpoints(self) -> list[dict]:
        """Our checkpoints as central holds them (verified: signed by a central key we trust)."""
        from ktpel.keys import crypto

        ring = keymod.load_keyring(self.settings, side="office")
        path = "/api/v1/sync/audit-checkpoints"
        response = self._call("GET", path, headers=env.request_headers(method="GET", path=path,
                                                                       office_code=self.office_code, key=ring.active))
        doc = self._json(response)
        trusted = {k.kid: k.signing for k in keymod.central_keys(self.settings)}
        key = trusted.get(doc.get("central_kid"))
        if response.status_code != 200 or key is None or doc.get("office") != self.office_code:
            raise Unreachable(f"audit checkpoints: HTTP {response.status_code}")
        try:
            crypto.verify_document(key, doc)
        except crypto.CryptoError as exc:
            raise Unreachable("audit checkpoints: central's signature does not verify") from exc
        return list(doc.get("checkpoints") or [])

    def read_sealed(self, path: str, *, doc_type: str, bound: dict[str, str]) -> dict:
        """A signed read of one resource central seals to this office (e.g. a data-ganda record's photo).

        Raises Unreachable when central does not answer usefully, env.Refused when it answers no."""
        ring = keymod.load_keyring(self.settings, side="office")
        response = self._call("GET", path, headers=env.request_headers(method="GET", path=path,
                                                                       office_code=self.office_code, key=ring.active))
        doc = self._json(response)
        if response.status_code != 200:
            raise env.Refused(str(doc.get("code", response.status_code)), str(doc.get("detail", "")),
                              status=response.status_code)
        return env.open_from_central(doc, doc_type=doc_type, bound={"office": self.office_code, **bound},
                                     central_keys=keymod.central_keys(self.settings), office=ring)

    def run_once(self, *, force: bool = False, stop: threading.Event | None = None) -> SyncReport:
        """One round: send what is queued, then pull events. Honors backoff unless `force`."""
        if not force and not self.due():
            return SyncReport(reachable=self._reachable(), stopped_because="backoff")
        report = self.send_pending(stop=stop)
        if report.stopped_because in ("empty", "stopped"):
            try:
                report.applied = self.pull_events()
                self.send_audit_checkpoint()
                with self.db.unit_of_work() as s:
                    record_success(s, context=self.context, ended_hooks=self.handlers.outage_ended)
            except Busy as exc:
                self._busy(exc)
            except Unreachable as exc:
                self._fail(str(exc))
                report.reachable = False
        return report

    def _reachable(self) -> bool:
        with self.db.unit_of_work() as s:
            return link(s).reachable

    def run_forever(self, stop: threading.Event) -> None:
        """The background loop inside `ktpel office serve`; never dies of an error, only of `stop`."""
        while not stop.is_set():
            try:
                report = self.run_once(stop=stop)
                if report.stopped_because in ("empty", "backoff", "busy", "unreachable"):
                    stop.wait(self.settings.sync_interval_s if report.stopped_because == "empty"
                              else min(self.settings.sync_interval_s, 1.0))
            except keymod.KeysMissing as exc:
                log.warning("sync agent idle: %s", exc.message_en)
                stop.wait(self.settings.sync_interval_s * 5)
            except Exception:  # noqa: BLE001 - the loop must outlive any bug; it is logged
                log.exception("sync agent round failed")
                stop.wait(self.settings.sync_interval_s)


def start_background(*, settings: Settings, db: Database,
                     handlers: OfficeHandlers) -> tuple[threading.Thread, threading.Event]:
    """Run the agent in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    agent = SyncAgent(settings=settings, db=db, handlers=handlers)
    thread = threading.Thread(target=agent.run_forever, args=(stop,), name="ktpel-sync", daemon=True)
    thread.start()
    return thread, stop
