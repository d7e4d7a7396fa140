"""Issue 20 item 5: the audit chain is anchored outside the database. Both rewrites from the outside
test — edit #80 and recompute every later hash and the head; delete the last rows and move the head
back — pass the bare chain check but fail `audit verify`, locally, against central's copy, and central
refuses the office's next checkpoint."""

from __future__ import annotations

import functools
import json
import stat

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from ktpel.office import composition as office_composition
from ktpel.security.audit import entry_hash, record_audit, verify_chain
from ktpel.security.checkpoints import (check_against, checkpoint_path, read_checkpoints, verify_anchored,
                                        write_checkpoint)
from ktpel.store.schema.security import AuditEntryRow, AuditHeadRow
from ktpel.store.schema.sync import AuditCheckpointRow, RejectionRow
from ktpel.office.sync.agent import SyncAgent
from ktpel.office.sync.service import verify_audit_with_central
from ktpel.keys.keyring import load_keyring


def _entries(db, n: int) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        for i in range(n):
            record_audit(s, actor=f"op{i % 3}", action="resident.view", subject=f"resident:{i}")


def _rehash_from(db, start: int) -> None:  # noqa: ANN001
    """What an attacker with database access does: recompute every hash from `start` and the head."""
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(AuditEntryRow).where(AuditEntryRow.seq >= start).order_by(AuditEntryRow.seq)))
        prev = s.scalar(select(AuditEntryRow.entry_hash).where(AuditEntryRow.seq == start - 1))
        for row in rows:
            digest = entry_hash(prev_hash=prev, seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                                subject=row.subject, before_digest=row.before_digest, after_digest=row.after_digest,
                                changed=row.changed or "", source_ip=row.source_ip)
            s.execute(update(AuditEntryRow).where(AuditEntryRow.seq == row.seq).values(prev_hash=prev, entry_hash=digest))
            prev = digest
        s.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(last_hash=prev, seq=rows[-1].seq))


def _edit_80(db) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        s.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 80).values(actor="someone-else"))
    _rehash_from(db, 80)


def _cut_last_5(db) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        last = s.scalar(select(AuditHeadRow.seq).where(AuditHeadRow.id == 1))
        s.execute(delete(AuditEntryRow).where(AuditEntryRow.seq > last - 5))
        prev = s.scalar(select(AuditEntryRow.entry_hash).where(AuditEntryRow.seq == last - 5))
        s.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=last - 5, last_hash=prev))


@pytest.mark.parametrize("rewrite, kind, central_code", [(_edit_80, "rewritten", "audit_rewritten"),
                                                         (_cut_last_5, "truncated", "audit_rewound")])
def test_office_rewrites_are_caught(rewrite, kind, central_code, linked, db, central_db, central_client,
                                    office_settings, monkeypatch):
    _entries(db, 100)
    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db, central_url="http://central.test", client=central_client)
    assert agent.run_once(force=True).reachable
    path = checkpoint_path(office_settings, side="office")
    [doc] = read_checkpoints(office_settings, side="office")
    with db.unit_of_work() as s:
        head = s.scalar(select(AuditHeadRow.seq))
    assert doc["seq"] == head >= 100
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with central_db.unit_of_work() as s:
        assert s.scalar(select(AuditCheckpointRow.seq).where(AuditCheckpointRow.office_code == "18.01")) == head

    rewrite(db)
    with db.unit_of_work() as s:
        assert verify_chain(s).ok  # the bare chain cannot see it: that is the hole being closed
        report = verify_anchored(s, settings=office_settings, side="office")
        assert not report.ok and kind in {p.kind for p in report.problems}
        mine = {p.kid: p.signing.public_key() for p in load_keyring(office_settings, side="office").pairs}
        against_central = check_against(s, agent.central_checkpoints(), source="central", public_keys=mine)
        assert kind in {p.kind for p in against_central}
        both = verify_audit_with_central(s, settings=office_settings, central_checkpoints=agent.central_checkpoints())
        assert {(p.kind, "(central)" in p.message_en) for p in both.problems} >= {(kind, True), (kind, False)}
    # the same through `ktpel office verify-audit` (its agent talks to central's app in-process)
    _invoke_with_settings(office_settings, monkeypatch, central_client, kind)

    # the next round's checkpoint tells central too
    agent.send_audit_checkpoint()
    with central_db.unit_of_work() as s:
        assert central_code in {r.reason for r in s.scalars(select(RejectionRow))}


def _invoke_with_settings(office_settings, monkeypatch, central_client, kind: str) -> None:  # noqa: ANN001
    from ktpel import config
    from ktpel.cli import app
    from ktpel.office.sync import agent as agent_module

    monkeypatch.setattr(agent_module, "SyncAgent", functools.partial(SyncAgent, client=central_client))
    monkeypatch.setenv("KTPEL_DATA_DIR", str(office_settings.data_dir))
    monkeypatch.setenv("KTPEL_DATABASE_URL", office_settings.database_url)
    monkeypatch.setenv("KTPEL_OFFICE_REGENCY", office_settings.office_regency)
    config.get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["office", "verify-audit", "--json", "--central", "http://central.test"])
    finally:
        config.get_settings.cache_clear()
    assert r.exit_code == 1, r.output
    problems = json.loads(r.stdout)["problems"]
    assert kind in {p["kind"] for p in problems if "(central)" in p["message_en"]}


def test_a_forged_checkpoint_line_and_the_cli(linked, db, office_settings, monkeypatch):
    from ktpel import config
    from ktpel.cli import app

    _entries(db, 30)
    write_checkpoint(office_settings, db, side="office")
    monkeypatch.setenv("KTPEL_DATA_DIR", str(office_settings.data_dir))
    monkeypatch.setenv("KTPEL_DATABASE_URL", office_settings.database_url)
    config.get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
        _edit_80_like(db, seq=10)
        r = runner.invoke(app, ["audit", "verify", "--json"])
        assert r.exit_code == 1 and "rewritten" in r.stdout
        # an attacker who also edits the checkpoint file cannot sign the new hash
        path = checkpoint_path(office_settings, side="office")
        line = json.loads(path.read_text().splitlines()[-1])
        with db.unit_of_work() as s:
            line["hash"] = s.scalar(select(AuditEntryRow.entry_hash).where(AuditEntryRow.seq == line["seq"]))
        path.write_text(json.dumps(line) + "\n")
        r = runner.invoke(app, ["audit", "verify", "--json"])
        assert r.exit_code == 1 and "checkpoint_forged" in r.stdout
    finally:
        config.get_settings.cache_clear()


def _edit_80_like(db, *, seq: int) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        s.execute(update(AuditEntryRow).where(AuditEntryRow.seq == seq).values(subject="changed"))
    _rehash_from(db, seq)


def test_central_keeps_its_own_signed_head(linked, central_db, central_settings):
    _entries(central_db, 20)
    doc = write_checkpoint(central_settings, central_db, side="central")
    assert doc["node"] == "central" and doc["seq"] >= 20
    with central_db.unit_of_work() as s:
        assert verify_anchored(s, settings=central_settings, side="central").ok
    _cut_last_5(central_db)
    with central_db.unit_of_work() as s:
        assert verify_chain(s).ok
        assert "truncated" in {p.kind for p in verify_anchored(s, settings=central_settings, side="central").problems}


def test_junk_checkpoints_are_refused_not_crashed(linked, central_client, central_db):
    bodies = [{}, {"node": "18.01"}, {"node": ["18.01"]}, {"node": "18.01", "kid": ["x"], "seq": "1"},
              {"node": "18.01", "type": "audit.checkpoint", "kid": "abc", "seq": 2**70, "hash": "0" * 64, "sig": 1},
              {"node": "99.99", "kid": "abc"}]
    for body in bodies:
        r = central_client.post("/api/v1/sync/audit-checkpoint", json=body)
        assert r.status_code in (401, 403, 409), (body, r.status_code)
    assert central_client.post("/api/v1/sync/audit-checkpoint", content=b"[1,2]",
                               headers={"content-type": "application/json"}).status_code == 401
    with central_db.unit_of_work() as s:
        assert s.scalar(select(AuditCheckpointRow)) is None
