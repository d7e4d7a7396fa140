"""Audit checkpoints anchored outside the database.

The hash chain alone uses no secret: whoever can write the database can edit entry #80 and recompute
every later hash and the head, or delete the last rows and move the head back, and the chain still
verifies. A checkpoint is the head (sequence number + entry hash) signed with the side's Ed25519 sync
key, appended to a separate append-only file `data_dir/audit/<side>-checkpoints.jsonl` (0600 in a
0700 directory), and — for an office — sent to central with every sync round, where it is kept in
`sync_audit_checkpoints`. `verify_anchored` then requires that every checkpointed entry still exists
with the very hash that was signed: a rewrite at or before a checkpoint, or a cut below one, fails.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.events import utcnow
from ktpel.security.audit import ChainProblem, ChainReport, verify_chain
from ktpel.store.schema.security import AuditEntryRow, AuditHeadRow

log = logging.getLogger("ktpel.audit")

CHECKPOINT_TYPE = "audit.checkpoint"


def checkpoint_path(settings: Settings, *, side: str) -> Path:
    return settings.data_dir / "audit" / f"{side}-checkpoints.jsonl"


def _node(settings: Settings, side: str) -> str:
    return settings.office_regency if side == "office" else "central"


def current_head(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(AuditHeadRow.seq, AuditHeadRow.last_hash).where(AuditHeadRow.id == 1)).first()
    return None if row is None or row.seq == 0 else (int(row.seq), str(row.last_hash))


def sign_checkpoint(*, side: str, node: str, seq: int, head_hash: str, key) -> dict:  # noqa: ANN001
    """The signed checkpoint document (`key`: a sync KeyPair)."""
    from ktpel.keys import crypto

    doc = {"v": 1, "type": CHECKPOINT_TYPE, "side": side, "node": node, "seq": int(seq), "hash": head_hash,
           "at": utcnow().isoformat(timespec="seconds"), "kid": key.kid}
    return crypto.sign_document(key.signing, doc)


def verify_checkpoint_signature(doc: dict, *, public_keys: dict) -> bool:
    """Whether `doc` is a checkpoint signed by one of `public_keys` ({kid: Ed25519PublicKey})."""
    from ktpel.domain.errors import KtpelError
    from ktpel.keys import crypto

    kid = doc.get("kid") if isinstance(doc, dict) else None
    key = public_keys.get(kid) if isinstance(kid, str) else None
    if key is None or doc.get("type") != CHECKPOINT_TYPE:
        return False
    try:
        crypto.verify_document(key, doc)
    except (KtpelError, ValueError, TypeError):
        return False
    return (type(doc.get("seq")) is int and 0 < doc["seq"] < 2**31 and isinstance(doc.get("hash"), str)
            and len(doc["hash"]) == 64)


def _side_keys(settings: Settings, side: str):  # noqa: ANN202
    from ktpel.keys import keyring as keymod

    return keymod.load_keyring(settings, side=side)


def read_checkpoints(settings: Settings, *, side: str) -> list[dict]:
    path = checkpoint_path(settings, side=side)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            doc = {"unreadable": line[:80]}
        out.append(doc)
    return out


def _append(path: Path, doc: dict) -> None:
    """Append one line; O_APPEND so nothing earlier is ever rewritten, fsync so a crash keeps it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


_last_lock = threading.Lock()
_last_written: dict[str, tuple[tuple[int, str], float]] = {}


def write_checkpoint(settings: Settings, db, *, side: str, min_interval_s: float = 0.0) -> dict | None:  # noqa: ANN001
    """Sign the current head and append it to this side's checkpoint file, unless the head has not
    moved since the last one (or the last was written under `min_interval_s` ago). Returns the checkpoint
    (also when unchanged: the latest one), or None when this side has no keys or no entries yet."""
    from ktpel.keys.keyring import KeysMissing

    from ktpel.security.audit import seal

    path = checkpoint_path(settings, side=side)
    seal(db)  # a checkpoint signs the chain as far as it is written
    with db.unit_of_work() as s:
        head = current_head(s)
    if head is None:
        return None
    key_s = str(path)
    with _last_lock:
        last = _last_written.get(key_s)
        if last is not None and (last[0] == head or time.monotonic() - last[1] < min_interval_s):
            return None if last[0] != head else _latest(settings, side=side)
        try:
            ring = _side_keys(settings, side)
        except KeysMissing:
            return None
        previous = _latest(settings, side=side)
        if previous is not None and previous.get("seq") == head[0] and previous.get("hash") == head[1]:
            _last_written[key_s] = (head, time.monotonic())
            return previous
        doc = sign_checkpoint(side=side, node=_node(settings, side), seq=head[0], head_hash=head[1],
                              key=ring.active)
        _append(path, doc)
        _last_written[key_s] = (head, time.monotonic())
        return doc


def _latest(settings: Settings, *, side: str) -> dict | None:
    docs = [d for d in read_checkpoints(settings, side=side) if isinstance(d.get("seq"), int)]
    return docs[-1] if docs else None


def check_against(session: Session, checkpoints: list[dict], *, public_keys: dict,
                  source: str) -> list[ChainProblem]:
    """Problems where the chain no longer holds what a signed checkpoint says it held."""
    problems: list[ChainProblem] = []
    if not checkpoints:
        return problems
    last_seq = session.scalar(select(AuditEntryRow.seq).order_by(AuditEntryRow.seq.desc()).limit(1)) or 0
    best_seq = 0
    for doc in checkpoints:
        if not isinstance(doc, dict):
            doc = {"unreadable": str(doc)[:80]}
        if isinstance(doc.get("kid"), str) and doc["kid"] not in public_keys:
            continue  # signed by a key retired since: it can no longer vouch for anything
        if not verify_checkpoint_signature(doc, public_keys=public_keys):
            problems.append(ChainProblem(
                int(doc.get("seq") or 0) if isinstance(doc.get("seq"), int) else 0, "checkpoint_forged",
                f"titik periksa di {source} tidak bertanda tangan sah (berkas titik periksa diubah)",
                f"a checkpoint in {source} does not carry a valid signature (checkpoint file altered)"))
            continue
        seq, want = doc["seq"], doc["hash"]
        best_seq = max(best_seq, seq)
        got = session.scalar(select(AuditEntryRow.entry_hash).where(AuditEntryRow.seq == seq))
        if got is None:
            continue  # reported once below, as a cut below the highest checkpoint
        if got != want:
            problems.append(ChainProblem(
                seq, "rewritten",
                f"entri #{seq} berbeda dari titik periksa bertanda tangan ({source}): rantai ditulis ulang",
                f"entry #{seq} differs from the signed checkpoint ({source}): the chain was rewritten"))
    if best_seq > last_seq:
        problems.append(ChainProblem(
            last_seq, "truncated",
            f"titik periksa bertanda tangan ({source}) mencatat entri #{best_seq}, tetapi rantai berakhir di "
            f"#{last_seq} (entri akhir dihapus)",
            f"a signed checkpoint ({source}) records entry #{best_seq} but the chain ends at #{last_seq} "
            f"(last entries deleted)"))
    return problems


def side_public_keys(settings: Settings, *, side: str) -> dict:
    """{kid: Ed25519 public key} of this side's keyring: the keys its checkpoints are checked with."""
    try:
        ring = _side_keys(settings, side)
    except Exception:  # noqa: BLE001 - keys gone: every checkpoint then fails its signature check
        return {}
    return {p.kid: p.signing.public_key() for p in ring.pairs}


def verify_anchored(session: Session, *, settings: Settings, side: str) -> ChainReport:
    """The chain check plus this side's signed checkpoints (the anchor outside the database)."""
    report = verify_chain(session)
    docs = read_checkpoints(settings, side=side)
    if not docs:
        return report
    report.problems.extend(check_against(session, docs, public_keys=side_public_keys(settings, side=side),
                                         source=str(checkpoint_path(settings, side=side))))
    return report
