"""The audit trail: append-only entries, each chained to the previous one by SHA-256.

entry_hash = SHA-256(prev_hash || canonical JSON of the entry). Editing, deleting or reordering any
entry breaks the chain from that point, and `verify_chain` names the first entry where it breaks.

Writing and chaining are two steps, so that audited transactions never queue on one row:
1. `record_audit` appends the entry to `audit_pending` in the caller's transaction: an insert with a
   sequence-generated id and no lock (before, every audited transaction locked the single `audit_head`
   row until it committed, so on PostgreSQL they ran one at a time).
2. `seal_pending`, one sealer at a time (it locks `audit_head` for its own short transaction), moves the
   committed pending entries into `audit_log` in id order, giving each the next chain position and its
   hash. It runs right after every commit that wrote an entry (a session hook; while another thread of
   the process is sealing, that one runs one more round instead), and before `verify`, checkpoints and
   exports, so an entry is normally chained milliseconds after its transaction commits.
   An entry that commits after a later one was sealed simply gets the next position: the chain order is
   the sealing order, and it never forks.

The entry keeps digests of the before/after state and the names of changed fields, never the values:
the audit log must not become a second, unencrypted copy of residents' data.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.store.schema.security import AuditEntryRow, AuditHeadRow, AuditPendingRow

log = logging.getLogger("ktpel.audit")

GENESIS = "0" * 64


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def state_digest(state: dict | None) -> str | None:
    """SHA-256 of a canonical JSON rendering of a before/after state (None stays None)."""
    if state is None:
        return None
    return hashlib.sha256(_canonical_json(state).encode("utf-8")).hexdigest()


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    """Names of fields whose values differ between before and after."""
    b, a = before or {}, after or {}
    return sorted(k for k in set(b) | set(a) if _canonical_json(b.get(k)) != _canonical_json(a.get(k)))


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def entry_hash(*, prev_hash: str, seq: int, at: dt.datetime, actor: str, action: str, subject: str,
               before_digest: str | None, after_digest: str | None, changed: str,
               source_ip: str | None) -> str:
    """The chain hash of one entry."""
    canonical = _canonical_json({
        "seq": seq, "at": _iso(at), "actor": actor, "action": action, "subject": subject,
        "before": before_digest, "after": after_digest, "changed": changed, "ip": source_ip,
    })
    return hashlib.sha256(prev_hash.encode("ascii") + canonical.encode("utf-8")).hexdigest()


_NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")


def pseudonymise_subject(subject: str) -> str:
    """A NIK (or KK number: any 16-digit run) in a subject becomes `nik:<keyed hash>`: entries about one
    resident still group and can be searched (the search applies the same rule), but the audit log does
    not become a list of NIKs. The key is the field cipher's blind-index key."""
    def _hash(match: re.Match) -> str:
        try:
            from ktpel.store.fields import cipher

            return "nik:" + cipher().blind_index("audit-nik:" + match.group(0))[:16]
        except RuntimeError:  # no cipher configured (no database open): never write the number
            return "nik:?"
    return _NIK_LIKE.sub(_hash, subject)


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else str(text)[:limit]


def record_audit(session: Session, *, actor: str, action: str, subject: str, before: dict | None = None,
                 after: dict | None = None, source_ip: str | None = None) -> int:
    """Append one entry in the caller's transaction (chained right after it commits); returns its id."""
    at = utcnow()  # microsecond precision survives both backends, so the stored time re-hashes identically
    row = AuditPendingRow(
        at=at, actor=_clip(actor or "-", 64), action=_clip(action, 80),
        subject=_clip(pseudonymise_subject(str(subject or "-")), 200), before_digest=state_digest(before),
        after_digest=state_digest(after), changed=",".join(changed_fields(before, after))[:2000],
        source_ip=_clip(source_ip, 64),
    )
    session.add(row)
    session.flush()
    session.info[_PENDING] = True
    return row.id


_PENDING = "ktpel.audit.pending"


def _lock_head(session: Session) -> AuditHeadRow:
    """The chain head, locked for this transaction. A write comes first: pysqlite begins a transaction
    only at the first write, so on SQLite a head read before it could be stale by the time this sealer
    writes (two sealers would give out the same `seq`); the no-op update takes SQLite's write lock before
    the read, and on PostgreSQL it locks the row as FOR UPDATE does."""
    touched = session.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1)
                              .values(seq=AuditHeadRow.seq)).rowcount
    if not touched:  # tables made without the migration (create_all): start the chain
        session.execute(insert(AuditHeadRow).values(id=1, seq=0, last_hash=GENESIS))
    return session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def seal_pending(session: Session, *, batch: int = 500) -> int:
    """Chain the committed pending entries into `audit_log`, oldest first; returns how many. One sealer at
    a time: the head row is locked for this (short) transaction only."""
    if session.execute(select(AuditPendingRow.id).limit(1)).first() is None:
        return 0  # nothing to chain: take no lock (another transaction may hold SQLite's write lock)
    head = _lock_head(session)
    sealed = 0
    while True:
        rows = session.execute(select(AuditPendingRow).order_by(AuditPendingRow.id).limit(batch)).scalars().all()
        if not rows:
            return sealed
        seq, prev = head.seq, head.last_hash
        entries = []
        for row in rows:
            seq += 1
            digest = entry_hash(prev_hash=prev, seq=seq, at=row.at, actor=row.actor, action=row.action,
                                subject=row.subject, before_digest=row.before_digest, after_digest=row.after_digest,
                                changed=row.changed or "", source_ip=row.source_ip)
            entries.append({"seq": seq, "at": row.at, "actor": row.actor, "action": row.action, "subject": row.subject,
                            "before_digest": row.before_digest, "after_digest": row.after_digest,
                            "changed": row.changed or "", "source_ip": row.source_ip, "prev_hash": prev,
                            "entry_hash": digest})
            prev = digest
        session.execute(insert(AuditEntryRow), entries)
        session.execute(delete(AuditPendingRow).where(AuditPendingRow.id.in_([r.id for r in rows])))
        head.seq, head.last_hash = seq, prev
        session.flush()
        sealed += len(rows)


def seal(db) -> int:  # noqa: ANN001 - a ktpel Database
    """`seal_pending` in its own transaction (verify, checkpoints, exports call it first)."""
    with db.unit_of_work() as session:
        return seal_pending(session)


class _SealerTurn:
    """One sealer per engine in a process: a commit while another thread seals only asks for one more round
    (sealing takes every committed entry), instead of queueing a connection on the write lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wanted = False


_TURNS: "weakref.WeakKeyDictionary[Any, _SealerTurn]" = weakref.WeakKeyDictionary()
_TURNS_LOCK = threading.Lock()


def _turn(engine: Any) -> _SealerTurn:
    with _TURNS_LOCK:
        turn = _TURNS.get(engine)
        if turn is None:
            turn = _TURNS[engine] = _SealerTurn()
        return turn


@event.listens_for(Session, "after_commit")
def _seal_after_commit(session: Session) -> None:
    """Chain what this transaction wrote as soon as it is committed, in a transaction of its own."""
    if not session.info.pop(_PENDING, False):
        return
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    turn = _turn(engine)
    turn.wanted = True
    # whoever holds the turn re-checks `wanted` after releasing it, so an entry is never left for later
    while turn.wanted and turn.lock.acquire(blocking=False):
        try:
            turn.wanted = False
            with Session(bind=engine) as sealer, sealer.begin():
                seal_pending(sealer)
        except Exception:  # noqa: BLE001 - the entry is committed and pending: the next seal chains it
            log.exception("audit entries could not be sealed now; the next commit or verify seals them")
            return
        finally:
            turn.lock.release()


def record_audit_now(db, *, actor: str, action: str, subject: str, before: dict | None = None,  # noqa: ANN001
                     after: dict | None = None, source_ip: str | None = None) -> None:
    """Record an entry in its own transaction (refusals: the request itself writes nothing)."""
    try:
        with db.unit_of_work() as session:
            record_audit(session, actor=actor, action=action, subject=subject, before=before, after=after,
                         source_ip=source_ip)
    except Exception:  # noqa: BLE001 - a refusal must still be answered if the audit write fails
        log.exception("audit entry could not be written: %s %s %s", actor, action,
                      pseudonymise_subject(str(subject or "-")))


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # edited | missing | broken | truncated
    message_id: str
    message_en: str


@dataclass
class ChainReport:
    entries: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    pending: int = 0  # written and committed, not chained yet (sealed at the next commit or verify)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, *, batch: int = 2000) -> ChainReport:
    """Walk the whole chain and report every entry where it is edited, missing, reordered or cut short."""
    report = ChainReport()
    expected_seq = 1
    prev = GENESIS
    rows = session.execute(select(AuditEntryRow).order_by(AuditEntryRow.seq).execution_options(yield_per=batch))
    for row in rows.scalars():
        report.entries += 1
        if row.seq != expected_seq:
            report.problems.append(ChainProblem(
                row.seq, "missing",
                f"entri {expected_seq}..{row.seq - 1} hilang (dihapus) sebelum entri {row.seq}",
                f"entries {expected_seq}..{row.seq - 1} are missing (deleted) before entry {row.seq}",
            ))
        if row.prev_hash != prev:
            report.problems.append(ChainProblem(
                row.seq, "broken",
                f"rantai putus di entri {row.seq}: hash sebelumnya tidak cocok (entri dihapus, diganti atau diurutkan ulang)",
                f"chain broken at entry {row.seq}: previous hash does not match (entry deleted, replaced or reordered)",
            ))
        recomputed = entry_hash(prev_hash=row.prev_hash, seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                                subject=row.subject, before_digest=row.before_digest, after_digest=row.after_digest,
                                changed=row.changed or "", source_ip=row.source_ip)
        if recomputed != row.entry_hash:
            report.problems.append(ChainProblem(
                row.seq, "edited",
                f"entri {row.seq} telah diubah (hash isi tidak cocok)",
                f"entry {row.seq} was edited (content hash does not match)",
            ))
        # continue from the stored hash so one edit is reported once, not for every later entry
        prev = row.entry_hash
        expected_seq = row.seq + 1
    report.pending = session.scalar(select(func.count()).select_from(AuditPendingRow)) or 0
    head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.last_hash).where(AuditHeadRow.id == 1)).first()
    if head is not None and (head.seq != expected_seq - 1 or head.last_hash != prev):
        report.problems.append(ChainProblem(
            expected_seq - 1, "truncated",
            f"entri terakhir tercatat #{head.seq}, tetapi rantai berakhir di #{expected_seq - 1} (entri akhir dihapus atau diubah)",
            f"the head records entry #{head.seq} but the chain ends at #{expected_seq - 1} (last entries deleted or altered)",
        ))
    return report


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(query: AuditQuery):  # noqa: ANN202
    stmt = select(AuditEntryRow)
    if query.actor:
        stmt = stmt.where(AuditEntryRow.actor == query.actor)
    if query.action:
        # a prefix search: "login" finds login.ok, login.failed, login.locked
        stmt = stmt.where(AuditEntryRow.action.startswith(query.action, autoescape=True))
    if query.subject:
        stmt = stmt.where(AuditEntryRow.subject.contains(pseudonymise_subject(query.subject), autoescape=True))
    if query.since:
        stmt = stmt.where(AuditEntryRow.at >= query.since)
    if query.until:
        stmt = stmt.where(AuditEntryRow.at < query.until)
    return stmt


def search_audit(session: Session, *, query: AuditQuery, limit: int = 50, offset: int = 0) -> tuple[list[AuditEntryRow], int]:
    """Newest-first page of entries matching the query, and the total count."""
    stmt = _filtered(query)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(AuditEntryRow.seq.desc()).limit(limit).offset(offset)).scalars().all()
    return list(rows), total


CSV_COLUMNS = ["seq", "at", "actor", "action", "subject", "before_digest", "after_digest", "changed",
               "source_ip", "prev_hash", "entry_hash"]


def _csv_safe(value: Any) -> str:
    text = "" if value is None else (_iso(value) if isinstance(value, dt.datetime) else str(value))
    # spreadsheet formula injection: a cell starting with = + - @ would be executed by Excel
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and len(text) > 1):
        text = "'" + text
    return text


def export_csv(session: Session, *, query: AuditQuery = AuditQuery()) -> Iterator[str]:
    """The matching entries in chain order as CSV text chunks (header first)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    stmt = _filtered(query).order_by(AuditEntryRow.seq).execution_options(yield_per=1000)
    for row in session.execute(stmt).scalars():
        buf.seek(0)
        buf.truncate()
        writer.writerow([_csv_safe(getattr(row, c)) for c in CSV_COLUMNS])
        yield buf.getvalue()


def export_jsonl(session: Session, *, query: AuditQuery = AuditQuery()) -> Iterable[str]:
    """The matching entries in chain order as JSON lines (for re-verification elsewhere)."""
    stmt = _filtered(query).order_by(AuditEntryRow.seq).execution_options(yield_per=1000)
    for row in session.execute(stmt).scalars():
        yield _canonical_json({c: (_iso(getattr(row, c)) if c == "at" else getattr(row, c)) for c in CSV_COLUMNS}) + "\n"
