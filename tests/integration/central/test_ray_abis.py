"""The ABIS on a local Ray cluster with two shard actors (CI's one Ray test; about 30-60 s).

Same packets through an in-process worker and a worker whose ABIS is two Ray shard actors: the same
decisions. Then the shards answer exactly like one in-process Gallery (1:N and 1:few), writes are
idempotent, a shard killed like a crashed process comes back (Ray restarts it) with its slice rebuilt from
the central database, and a batch of deletes takes one call a shard.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.integration.central.conftest import make_payload
from tests.integration.central.test_modality_conflict import _mix


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="ktpel")
    yield ray
    ray.shutdown()


def _payloads(people) -> list[dict]:
    """Seven recordings with fixed enrollment ids (so each of the two shards owns some of them)."""
    made = [
        make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso"),
        make_payload(people.biometrics(person=2, impression=1), nik="1801054203850002", name="Sri Wahyuni",
                     sex="P", birth_date="1985-03-02"),
        make_payload(people.biometrics(person=3, impression=1), nik="1801050303800006", name="Made Wirawan",
                     birth_date="1980-03-03"),
        make_payload(people.biometrics(person=1, impression=2), nik="1802051705900003", name="Budi Santosa",
                     office_code="18.02"),
        make_payload(_mix(people, face_of=(7, 1), fingers_of=(1, 3)), nik="1871011208770003", name="Agus Salim",
                     birth_date="1977-08-12", office_code="18.71"),
        make_payload(_mix(people, face_of=(2, 2), fingers_of=(4, 1)), nik="1872015506880004", name="Dewi Lestari",
                     sex="P", birth_date="1988-06-15", office_code="18.72"),
        # Dewi's fingers again, under Joko's face (ORL s4): a second finger-only duplicate
        make_payload(people.biometrics(person=4, impression=2), nik="1801051010950005", name="Joko Widodo",
                     birth_date="1995-10-10"),
    ]
    for k, p in enumerate(made):
        p["enrollment_id"] = f"E-RAY-{k:04d}"
    return made


def _run(db, worker, payloads) -> tuple[list, set, dict]:
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.store.schema.central import AdjudicationRow, PipelineJobRow

    for p in payloads:
        with db.unit_of_work() as s:
            handle_enrollment(s, packet_id=uuid.uuid4().hex, office_code=p["office_code"], kind="enrollment",
                              subject_id=p["enrollment_id"], payload=p)
    outcomes = [o.outcome for o in worker.drain()]
    with db.unit_of_work() as s:
        items = sorted((a.record_id, a.candidate_id, a.reason, a.band, a.fused_z)
                       for a in s.scalars(select(AdjudicationRow)))
        searches = {j.record_id: j.results.get("biometric", {}).get("candidates")
                    for j in s.scalars(select(PipelineJobRow))}
    return outcomes, items, searches


def _answers(abis, probes, *, exclude: list | None = None) -> list:
    exclude = exclude or [None] * len(probes)
    return [[(c.reference_id, c.fused, c.band.value)
             for c in abis.identify(p, max_candidates=10, exclude=x).candidates] for p, x in zip(probes, exclude)]


def _same(got, want) -> bool:  # noqa: ANN001 - nested lists, tuples, dicts of str/int/float
    """Equal, with floats equal to 1e-6: a face index of another size may sum its float32 dot products in
    another order (BLAS blocking), which moves a score's last bits, never a candidate, band or decision."""
    if isinstance(want, float) or isinstance(got, float):
        return isinstance(got, (int, float)) and isinstance(want, (int, float)) and abs(got - want) <= 1e-6
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(_same(got[k], want[k]) for k in want)
    if isinstance(want, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(want)
                and all(_same(g, w) for g, w in zip(got, want)))
    return got == want


def test_ray_shards_decide_like_the_in_process_gallery_and_rebuild_after_a_crash(
        ray_cluster, central, people, db, settings, tmp_path):
    from ktpel.biometrics.abis import BuiltinAbis
    from ktpel.central.abis.ray_abis import RayAbis
    from ktpel.central.pipeline.gallery import GalleryMirror
    from ktpel.central.records import templates_of
    from ktpel.central.pipeline.worker import Worker
    from ktpel.config import Settings
    from ktpel.store.db import open_database
    from ktpel.store.schema.central import NationalRecordRow

    payloads = _payloads(people)
    # reference: the same packets through an in-process worker on a database of its own
    ref_settings = Settings(data_dir=settings.data_dir, shared_data=settings.shared_data,
                            database_url=f"sqlite:///{tmp_path / 'inproc.db'}")
    ref_db = open_database(ref_settings, name="central")
    assert settings.abis == "inproc"
    expected = _run(ref_db, Worker(db=ref_db, settings=ref_settings, worker_id="inproc"), payloads)
    ref_db.dispose()
    assert expected[0] == ["PRINT_READY", "PRINT_READY", "PRINT_READY", "ADJUDICATION", "ADJUDICATION",
                           "ADJUDICATION", "ADJUDICATION"]

    abis = RayAbis.start(shards=2, settings=settings)
    try:
        worker = Worker(db=db, settings=settings, mirror=GalleryMirror(abis), worker_id="ray")
        assert _same(_run(db, worker, payloads), expected)  # same outcomes, adjudications, scores, candidates
        assert worker.ctx.mirror.members and abis.synced_seq() == 7

        # every shard holds only its slice, and identify answers like one gallery holding everything
        with db.unit_of_work() as s:
            records = {r.id: templates_of(r) for r in s.scalars(select(NationalRecordRow))}
        one = BuiltinAbis()
        for rid, t in records.items():
            one.insert(rid, t)
        sizes = [st["references"] for st in abis.stats()]
        assert sum(sizes) == 7 and all(sizes)
        probes = list(records.values())
        before = _answers(abis, probes)
        assert _same(before, _answers(one, probes))
        # searched with its own record excluded (as the pipeline does), each probe's answer is the rest
        own = list(records)
        without = _answers(abis, probes, exclude=own)
        assert _same(without, _answers(one, probes, exclude=own))
        assert all(rid not in [c[0] for c in got] for rid, got in zip(own, without))
        assert _same(without, [[c for c in got if c[0] != rid] for rid, got in zip(own, before)])

        # 1:few (the records the demographics name): the owning shards score them as one gallery does
        listed = lambda cands: [(c.reference_id, c.fused, c.band.value, c.normalised) for c in cands]  # noqa: E731
        for p in probes[:3]:
            assert _same(listed(abis.verify(p, own + ["E-not-there"])), listed(one.verify(p, own)))
        assert abis.verify(probes[0], []) == []

        # idempotent writes: the same insert twice, a delete of an absent reference
        rid = next(iter(records))
        abis.insert(rid, records[rid])
        abis.delete("E-not-there")
        assert len(abis) == 7

        # a shard dies like a killed process: Ray restarts it and it rebuilds its slice from the database
        import ray

        with pytest.raises((ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)):
            ray.get(abis.actors[0].crash.remote())
        after = _answers(abis, probes)
        st = abis.stats()[0]
        assert st["rebuild"]["source"] == "database" and st["references"] == sizes[0]
        assert st["rebuild"]["seconds"] < 30
        assert _same(after, before)

        # a batch of deletes: one call a shard, absent references ignored, the rest still found
        from ktpel.central.abis.shard import shard_of

        leaving = [next(r for r in own if shard_of(r, 2) == k) for k in (0, 1)]
        assert abis.delete_many(leaving + ["E-not-there"]) == 2 and len(abis) == 5
        assert abis.delete_many(leaving) == 0
        for rid in leaving:
            one.delete(rid)
        assert _same(_answers(abis, probes), _answers(one, probes))
    finally:
        abis.shutdown()
