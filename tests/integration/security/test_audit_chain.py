"""The audit chain: every edit, deletion, reordering or truncation is found and located, on both backends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from ktpel.security.audit import (AuditQuery, export_csv, record_audit, search_audit, state_digest,
                                  verify_chain)
from ktpel.domain.clock import now as clock_now
from ktpel.store.schema.security import AuditEntryRow


def _fill(db, n: int = 6) -> None:
    with db.unit_of_work() as s:
        for i in range(1, n + 1):
            record_audit(s, actor=f"op{i % 2}", action="resident.update", subject=f"resident:{i}",
                         before={"name": "LAMA", "rt": "001"}, after={"name": "BARU", "rt": "001"},
                         source_ip="10.0.0.9")


def _problems(db) -> list[tuple[int, str]]:
    with db.unit_of_work() as s:
        return [(p.seq, p.kind) for p in verify_chain(s).problems]


def test_entries_keep_digests_not_values_and_chain_verifies(db):
    _fill(db)
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq)))
        report = verify_chain(s)
    assert report.ok and report.entries == 6
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].entry_hash
    assert rows[0].changed == "name"
    assert rows[0].before_digest == state_digest({"name": "LAMA", "rt": "001"})
    assert "LAMA" not in repr([(r.before_digest, r.after_digest, r.changed) for r in rows])


@pytest.mark.parametrize("tamper, expected", [
    ("edit", [(3, "edited")]),
    ("delete", [(4, "missing"), (4, "broken")]),
    ("reorder", [(2, "edited"), (3, "edited")]),
    ("truncate", [(5, "truncated")]),
])
def test_tampering_is_detected_and_located(db, tamper, expected):
    _fill(db)
    with db.unit_of_work() as s:
        if tamper == "edit":
            s.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(actor="someone-else"))
        elif tamper == "delete":
            s.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 3))
        elif tamper == "reorder":  # swap the contents of entries 2 and 3 (hashes and all)
            a, b = (s.get(AuditEntryRow, 2), s.get(AuditEntryRow, 3))
            cols = ["at", "actor", "action", "subject", "before_digest", "after_digest", "changed",
                    "source_ip", "prev_hash", "entry_hash"]
            va, vb = ({c: getattr(a, c) for c in cols}, {c: getattr(b, c) for c in cols})
            for c in cols:
                setattr(a, c, vb[c])
                setattr(b, c, va[c])
        elif tamper == "truncate":
            s.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 6))
    found = _problems(db)
    if tamper == "reorder":  # a swap breaks the hash of both entries and the links around them
        assert {seq for seq, _ in found} >= {2, 3} and found
    else:
        assert found == expected


def test_rehashing_an_edited_entry_still_breaks_the_next_link(db):
    """An attacker who recomputes the edited entry's own hash is caught at the following entry."""
    from ktpel.security.audit import entry_hash

    _fill(db)
    with db.unit_of_work() as s:
        row = s.get(AuditEntryRow, 3)
        row.subject = "resident:999"
        row.entry_hash = entry_hash(prev_hash=row.prev_hash, seq=row.seq, at=row.at, actor=row.actor,
                                    action=row.action, subject=row.subject, before_digest=row.before_digest,
                                    after_digest=row.after_digest, changed=row.changed, source_ip=row.source_ip)
    assert _problems(db) == [(4, "broken")]


def test_concurrent_writers_never_fork_the_chain(db, caplog):
    """Writers in many threads (a server under load): every entry is chained by the sealing after its own
    commit, none is left pending and no sealer fails. On SQLite two sealers once read the same head and
    collided on `audit_log.seq` (the failure was only logged, and verify sealed the leftovers later)."""
    from ktpel.store.schema.security import AuditPendingRow

    errors = []
    start = threading.Barrier(8)

    def worker(k: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(10):
                with db.unit_of_work() as s:
                    record_audit(s, actor=f"w{k}", action="x.y", subject=f"{k}:{i}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    caplog.set_level("ERROR", logger="ktpel.audit")
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [r.getMessage() for r in caplog.records if r.name == "ktpel.audit"] == []
    with db.unit_of_work() as s:
        left_pending = s.scalar(select(func.count()).select_from(AuditPendingRow))
        chained = s.scalar(select(func.count()).select_from(AuditEntryRow))
    assert (left_pending, chained) == (0, 80)
    with db.unit_of_work() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 80


def test_an_audited_transaction_does_not_wait_for_another_one_to_commit(db):
    """The audit head is no longer locked by writers: a second audited transaction commits while the first
    is still open, and the chain takes both, in the order they committed."""
    if db.is_sqlite:
        pytest.skip("SQLite lets one writer at a time by design (office serve runs one worker on it)")
    first_wrote, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with db.unit_of_work() as s:
            record_audit(s, actor="op1", action="enrollment.capture", subject="E-first")
            first_wrote.set()
            release.wait(timeout=30)

    def second() -> None:
        with db.unit_of_work() as s:
            record_audit(s, actor="op2", action="enrollment.capture", subject="E-second")
        second_done.set()

    a = threading.Thread(target=first)
    a.start()
    assert first_wrote.wait(timeout=30)
    b = threading.Thread(target=second)
    b.start()
    committed_while_first_open = second_done.wait(timeout=10)
    release.set()
    a.join(timeout=30)
    b.join(timeout=30)
    assert committed_while_first_open, "the second audited transaction waited for the first one"
    with db.unit_of_work() as s:
        report = verify_chain(s)
        subjects = list(s.scalars(select(AuditEntryRow.subject).order_by(AuditEntryRow.seq)))
    assert report.ok and report.pending == 0 and subjects == ["E-second", "E-first"]


def test_an_entry_left_pending_by_a_killed_process_is_chained_by_verify(db):
    """A process killed between its commit and the seal leaves its entry pending; verify chains it."""
    from ktpel.security.audit import seal
    from ktpel.store.schema.security import AuditPendingRow

    _fill(db, 2)
    with db.engine.begin() as conn:  # committed, as a writer killed before its seal leaves it
        conn.execute(AuditPendingRow.__table__.insert().values(
            at=clock_now(), actor="op", action="enrollment.capture", subject="E-left", changed=""))
    with db.unit_of_work() as s:
        assert verify_chain(s).pending == 1
    assert seal(db) == 1
    with db.unit_of_work() as s:
        report = verify_chain(s)
        last = s.scalar(select(AuditEntryRow.subject).order_by(AuditEntryRow.seq.desc()).limit(1))
    assert report.ok and report.entries == 3 and report.pending == 0 and last == "E-left"


def test_rolled_back_transaction_leaves_no_entry(db):
    _fill(db, 2)
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            record_audit(s, actor="op", action="resident.update", subject="resident:1")
            raise RuntimeError("the change failed")
    _fill(db, 1)
    with db.unit_of_work() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 3


def test_search_and_csv_export_are_injection_safe(db):
    _fill(db, 3)
    with db.unit_of_work() as s:
        record_audit(s, actor="=cmd|' /C calc'!A0", action="login.failed", subject="user:' OR 1=1 --")
    with db.unit_of_work() as s:
        rows, total = search_audit(s, query=AuditQuery(subject="' OR 1=1 --"))
        assert total == 1 and rows[0].action == "login.failed"
        assert search_audit(s, query=AuditQuery(subject="%"))[1] == 0  # LIKE wildcards are literal
        assert search_audit(s, query=AuditQuery(action="resident"))[1] == 3
        csv_text = "".join(export_csv(s))
    assert "'=cmd|" in csv_text  # formula neutralised for spreadsheets
    assert csv_text.splitlines()[0].startswith("seq,at,actor")


def test_audit_verify_cli_says_where(settings, db, monkeypatch):
    from ktpel.cli import app

    _fill(db)
    monkeypatch.setenv("KTPEL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KTPEL_DATA_DIR", str(settings.data_dir))
    from ktpel.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    try:
        ok = runner.invoke(app, ["audit", "verify", "--json"])
        assert ok.exit_code == 0, ok.output
        with db.unit_of_work() as s:
            s.execute(text("UPDATE audit_log SET subject = 'resident:0' WHERE seq = 5"))
        bad = runner.invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1
        assert "#5" in bad.output and "diubah" in bad.output
        exported = runner.invoke(app, ["audit", "export", "--format", "jsonl"])
        assert exported.exit_code == 0 and exported.output.count('"entry_hash"') >= 6
    finally:
        get_settings.cache_clear()
