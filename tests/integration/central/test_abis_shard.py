"""Gallery shards without Ray: idempotent writes, rebuild from the database, snapshots it validates."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from ktpel.central.abis.shard import ShardCore, shard_of
from ktpel.central.pipeline.gallery import renumber_leaving_gallery
from ktpel.store.schema.central import NationalRecordRow
from tests.integration.central.conftest import make_payload


def _recorded(central, people, db) -> dict[str, list[bytes]]:
    from ktpel.central.records import templates_of

    for n, (person, nik) in enumerate([(1, "1801051705900001"), (2, "1801054203850002"), (3, "1801050303800006")]):
        central.receive(make_payload(people.biometrics(person=person, impression=1), nik=nik, name=f"Orang {'ABC'[n]}"))
    central.worker.drain()
    with db.unit_of_work() as s:
        return {r.id: templates_of(r) for r in s.scalars(select(NationalRecordRow))}


def test_shards_rebuild_their_slice_and_use_only_snapshots_the_database_validates(central, people, db, tmp_path):
    records = _recorded(central, people, db)
    shards = [ShardCore(shard=k, shards=2) for k in range(2)]
    for core in shards:
        info = core.rebuild_from_database(db)
        assert set(core.ids()) == {r for r in records if shard_of(r, 2) == core.shard}
        assert info["records"] == len(core) and core.synced_seq == 3
    assert sum(len(c) for c in shards) == 3

    # idempotent: the same templates again change nothing; an absent delete is no error
    owner = shards[shard_of(next(iter(records)), 2)]
    rid = next(iter(records))
    assert owner.insert(rid, records[rid]) is False
    assert owner.delete("E-absent") is False

    # a snapshot the database agrees with is used; one it contradicts is rejected for a rebuild
    owner.save_snapshot(tmp_path / "snap")
    fresh = ShardCore(shard=owner.shard, shards=2)
    assert fresh.load_snapshot(tmp_path / "snap", db)["source"] == "snapshot"
    assert fresh.ids() == owner.ids()
    # a revocation after the snapshot (renumbered, as resolution does) is caught up, not a full rebuild
    with db.unit_of_work() as s:
        row = s.get(NationalRecordRow, rid)
        row.state = "REVOKED"
        renumber_leaving_gallery(s, record=row)
    after = ShardCore(shard=owner.shard, shards=2)
    info = after.load_snapshot(tmp_path / "snap", db)
    assert info["source"] == "snapshot" and info["caught_up"] == 1
    assert rid not in after and set(after.ids()) == set(owner.ids()) - {rid}
    # a live record the snapshot lacks: rejected, and the rebuild holds it
    partial = ShardCore(shard=owner.shard, shards=2)
    partial.rebuild_from_database(db)  # without the revoked record
    partial.save_snapshot(tmp_path / "partial")
    with db.unit_of_work() as s:
        s.get(NationalRecordRow, rid).state = "PRINT_READY"  # the database has it in the gallery again
    rebuilt = ShardCore(shard=owner.shard, shards=2)
    info = rebuilt.load_snapshot(tmp_path / "partial", db)
    assert info["source"] == "database" and info["snapshot"] == "rejected by the database"
    assert rid in rebuilt
    # a record the snapshot holds that the database never had in the gallery (nor revoked): rejected
    with db.unit_of_work() as s:
        s.get(NationalRecordRow, rid).gallery_seq = None
    rebuilt = ShardCore(shard=owner.shard, shards=2)
    info = rebuilt.load_snapshot(tmp_path / "snap", db)
    assert info["source"] == "database" and info["snapshot"] == "rejected by the database"
    assert rid not in rebuilt
    # files that disagree with each other (an id added to the digests): damaged
    digests = tmp_path / "snap" / "digests.json"
    digests.write_text(digests.read_text(encoding="utf-8").replace("{", '{"E-forged": "00", ', 1), encoding="utf-8")
    assert ShardCore(shard=owner.shard, shards=2).load_snapshot(tmp_path / "snap", db)["snapshot"] == "damaged"


def test_a_shard_parses_a_probe_once_for_both_phases_and_answers_like_a_gallery(central, people, db, monkeypatch):
    from ktpel.biometrics import gallery
    from ktpel.biometrics.gallery import Gallery, merge_proposals

    records = _recorded(central, people, db)
    core, one = ShardCore(shard=0, shards=1), Gallery()
    for rid, t in records.items():
        core.insert(rid, t)
        one.insert(rid, t)
    probe = people.biometrics(person=2, impression=2)["templates"]
    blobs = [probe["face"]] + [v for k, v in probe.items() if k.startswith("finger")]
    parsed = []
    real = gallery.parse_probe
    monkeypatch.setattr(gallery, "parse_probe", lambda t: parsed.append(1) or real(t))
    refs, lead = merge_proposals([core.candidates(blobs, limit=50)], limit=50)
    got = [c.to_dict() for c in core.score(blobs, refs, lead=lead)]
    # one parse: the probe's matcher features (cylinders) are computed once, not once per phase
    assert len(parsed) == 1
    assert got == [c.to_dict() for c in one.score(blobs, refs, lead=lead)]
    assert got[0]["reference_id"] in records and got[0]["band"] == "hit"
    # what RayAbis sends (a probe packed with the lookups its caller computed): unpacked once, same answers
    packed = gallery.pack_probe(gallery.prepare_probe(blobs))
    unpacked = []
    real_unpack = gallery.unpack_probe
    monkeypatch.setattr(gallery, "unpack_probe", lambda d: unpacked.append(1) or real_unpack(d))
    assert merge_proposals([core.candidates(packed, limit=50)], limit=50) == (refs, lead)
    assert [c.to_dict() for c in core.score(packed, refs, lead=lead)] == got
    assert len(unpacked) == 1


def test_a_shard_refuses_a_reference_of_another_shard(people):
    core = ShardCore(shard=0, shards=2)
    rid = next(f"E-{i}" for i in range(100) if shard_of(f"E-{i}", 2) == 1)
    try:
        core.insert(rid, [people.biometrics(person=1, impression=1)["templates"]["face"]])
    except ValueError as exc:
        assert "belongs to shard 1" in str(exc)
    else:
        raise AssertionError("a shard accepted another shard's reference")


def test_the_embedded_default_never_imports_ray():
    code = ("import sys, ktpel.cli, ktpel.demo, ktpel.central.pipeline.worker, ktpel.central.abis as a;"
            "from ktpel.config import Settings; a.abis_from_settings(Settings());"
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
