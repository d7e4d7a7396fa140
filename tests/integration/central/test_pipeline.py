"""The dedup pipeline end to end on real templates: PRR, adjudication, EFAC, dead letters, crashes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from ktpel.store.schema.central import NationalRecordRow, PipelineJobRow
from ktpel.central import records
from ktpel.central.pipeline.payload import IMAGES_HELD
from ktpel.central.sync.intake import held_payload
from tests.integration.central.conftest import make_payload
from ktpel.domain.clock import now as clock_now


def _record(db, rid):
    with db.unit_of_work() as s:
        return s.get(NationalRecordRow, rid)


def _job(db, pid):
    with db.unit_of_work() as s:
        return s.scalars(select(PipelineJobRow).where(PipelineJobRow.packet_id == pid)).one()


def test_unique_resident_becomes_print_ready_with_a_signed_authorisation(central, people, db, settings):
    from ktpel.sync.authorisation import verify
    from ktpel.keys.keyring import central_public_keys

    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    central.receive(p)
    outcomes = central.worker.drain()
    assert [o.status for o in outcomes] == ["done"] and outcomes[0].outcome == "PRINT_READY"
    rec = _record(db, p["enrollment_id"])
    assert rec.state == "PRINT_READY" and rec.gallery_seq == 1
    [ev] = central.events(office_code="18.01", kind="enrollment.print_ready")
    card = verify(ev["data"]["authorisation"], public_keys=central_public_keys(settings))
    assert card["nik"] == "1801051705900001" and card["name"] == "BUDI SANTOSO"  # normalised at intake (domain.names)
    assert card["enrollment_id"] == p["enrollment_id"] and card["card_id"] == ev["data"]["card_id"]


def test_same_person_recorded_at_two_offices_goes_to_adjudication_with_scores(central, people, db):
    first = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    second = make_payload(people.biometrics(person=1, impression=2), nik="1802051705900003",
                          name="Budi Santosa", office_code="18.02")
    other = make_payload(people.biometrics(person=3, impression=1), nik="1801054203850002", name="Sri Wahyuni",
                         sex="P", birth_date="1985-03-02")
    central.receive(first)
    central.receive(other)
    central.receive(second, office_code="18.02")
    outs = central.worker.drain()
    assert [o.outcome for o in outs] == ["PRINT_READY", "PRINT_READY", "ADJUDICATION"]
    from ktpel.store.schema.central import AdjudicationRow

    with db.unit_of_work() as s:
        [item] = s.scalars(select(AdjudicationRow)).all()
    assert item.record_id == second["enrollment_id"] and item.candidate_id == first["enrollment_id"]
    assert item.band in ("hit", "review") and item.fused_z > 3
    assert set(item.scores["normalised"]) >= {"face", "finger_1"}
    # demographics explain the candidate: similar name, same birth date, different NIK
    assert item.demographic["levels"]["birth_date"] == 2 and item.demographic["nik_collision"] is False
    assert central.events(office_code="18.02", kind="enrollment.adjudication")


def test_poison_packet_is_dead_lettered_and_does_not_block_the_next(central, people, db):
    from ktpel.central.pipeline import queue

    bad = make_payload(people.biometrics(person=1, impression=1), nik="12345", name="X")
    good = make_payload(people.biometrics(person=3, impression=1), nik="1801054203850002", name="Sri")
    pid_bad = central.receive(bad)
    pid_good = central.receive(good)
    outs = central.worker.drain()
    assert sorted(o.status for o in outs) == ["dead", "done"]
    job = _job(db, pid_bad)
    assert job.status == "dead" and "NIK is not 16 digits" in job.last_error and job.stage == "validate"
    with db.unit_of_work() as s:  # parked for whoever looks into it; the packet as received, images and all, is sync's
        parked = json.loads(s.scalar(select(PipelineJobRow.payload).where(PipelineJobRow.id == job.id)))
        assert parked == {**bad, "images": {}, IMAGES_HELD: True}
        assert held_payload(s, packet_id=pid_bad) == bad
    # retry after a fix: it runs again from the stage it failed at (and dies again: still poison)
    with db.unit_of_work() as s:
        queue.retry_dead(s, job_id=job.id)
    assert _job(db, pid_bad).status == "queued"
    assert central.worker.drain()[0].status == "dead"
    with db.unit_of_work() as s, pytest.raises(queue.NotDeadLettered):
        queue.retry_dead(s, job_id=_job(db, pid_good).id)  # a finished job is not a dead letter


def test_not_json_and_wrong_sender_are_poison(central, people, db):
    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi")
    pid = central.receive(p, office_code="18.03")  # signed by 18.03, says 18.01
    central.worker.drain()
    assert "not the sender" in _job(db, pid).last_error


def test_corrupt_template_fails_the_recording_with_a_reason(central, people, db):
    bio = people.biometrics(person=1, impression=1)
    broken = dict(bio["templates"])
    broken["finger_2"] = broken["finger_2"][:-3] + b"xyz"
    p = make_payload(bio, nik="1801051705900001", name="Budi", templates=broken)
    central.receive(p)
    [out] = central.worker.drain()
    assert out.outcome == "FAILED"
    rec = _record(db, p["enrollment_id"])
    assert rec.state == "FAILED" and "finger_2" in rec.failure_reason and rec.gallery_seq is None
    [ev] = central.events(office_code="18.01", kind="enrollment.failed")
    assert "rusak" in ev["data"]["reason"] and "corrupt" in ev["data"]["reason_en"]


def test_undeclared_missing_finger_fails(central, people, db):
    bio = people.biometrics(person=1, impression=1)
    p = make_payload(bio, nik="1801051705900001", name="Budi")
    del p["exceptions"]["finger_9"]
    central.receive(p)
    assert central.worker.drain()[0].outcome == "FAILED"
    assert "9" in _record(db, p["enrollment_id"]).failure_reason


def test_crashed_worker_job_is_resumed_after_its_lease_and_decided_once(central, people, db, settings):
    from ktpel.central.pipeline.worker import Worker

    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi")
    pid = central.receive(p)
    crashing = Worker(db=db, settings=settings, worker_id="dies", crash_after="gallery")
    with pytest.raises(SystemExit):
        crashing.run_once()
    job = _job(db, pid)
    assert job.status == "running" and job.stage == "biometric" and job.worker_id == "dies"
    assert central.worker.run_once() is None  # the lease still holds: nobody steals the job
    with db.unit_of_work() as s:
        s.get(PipelineJobRow, job.id).lease_until = clock_now() - dt.timedelta(seconds=1)
    out = central.worker.run_once()
    assert out.outcome == "PRINT_READY"
    job = _job(db, pid)
    assert job.attempts == 2 and "expired" in job.last_error
    assert len(central.events(office_code="18.01", kind="enrollment.print_ready")) == 1
    assert _record(db, p["enrollment_id"]).gallery_seq == 1  # the gallery number was not taken twice


def test_same_packet_twice_is_one_job(central, people, db):
    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi")
    central.receive(p, packet_id="same")
    central.receive(p, packet_id="same")
    with db.unit_of_work() as s:
        assert len(s.scalars(select(PipelineJobRow)).all()) == 1


def test_finger_template_under_the_wrong_position_fails(central, people, db):
    bio = people.biometrics(person=1, impression=1)
    swapped = dict(bio["templates"])
    swapped["finger_2"] = swapped["finger_1"]  # the right thumb filed as the right index
    p = make_payload(bio, nik="1801051705900001", name="Budi", templates=swapped)
    central.receive(p)
    assert central.worker.drain()[0].outcome == "FAILED"
    assert "finger_2" in _record(db, p["enrollment_id"]).failure_reason


class _MarkedAbis:
    """The in-process ABIS with a shared ABIS's synced mark (what Ray shards keep), recording each mark."""

    def __init__(self) -> None:
        from ktpel.biometrics.abis import BuiltinAbis

        self._abis = BuiltinAbis()
        self.marks: list[int] = []
        self.batches: list[list[str]] = []  # each delete_many call's references

    def delete_many(self, reference_ids: list[str]) -> int:
        self.batches.append(list(reference_ids))
        for rid in reference_ids:
            self._abis.delete(rid)
        return len(reference_ids)

    def __getattr__(self, name):  # noqa: ANN001, ANN204
        return getattr(self._abis, name)

    def mark_synced(self, seq: int) -> None:
        self.marks.append(seq)

    def synced_seq(self) -> int:
        return max(self.marks, default=0)


def test_a_busy_worker_marks_the_shards_at_most_once_a_period_and_everything_when_idle(central, people, db,
                                                                                        settings, monkeypatch):
    from ktpel.central.pipeline import gallery
    from ktpel.central.pipeline.worker import Worker

    monkeypatch.setattr(gallery, "MARK_EVERY_S", 3600.0)  # the whole burst falls inside one period
    abis = _MarkedAbis()
    worker = Worker(db=db, settings=settings, mirror=gallery.GalleryMirror(abis), worker_id="marks")
    for person, nik, name in [(1, "1801051705900001", "Budi Santoso"), (3, "1801054203850002", "Sri Wahyuni"),
                              (4, "1801050101800003", "Agus Salim")]:
        central.receive(make_payload(people.biometrics(person=person, impression=1), nik=nik, name=name))
    outcomes = worker.drain()
    assert [o.outcome for o in outcomes] == ["PRINT_READY"] * 3, [o.error for o in outcomes]
    # the first refresh marks at once; the next two fall inside the period; the empty queue marks the rest
    assert abis.marks == [1, 3]
    assert worker.run_once() is None and abis.marks == [1, 3]  # nothing new: no call


def test_a_refresh_meets_a_revocation_by_its_new_number_and_reads_every_revoked_record_only_once(central, people,
                                                                                                   db):
    """At national scale revoked records number in the millions: a worker's refresh (one a decision) reads
    only the records numbered since its last one, and a revocation takes a new number to be among them;
    the first refresh's sweep of older revocations removes them in one call a shard, not one a record."""
    from sqlalchemy import event

    from ktpel.central.pipeline import gallery
    from ktpel.central.records import templates_of

    for person, nik, name in [(1, "1801051705900001", "Budi Santoso"), (3, "1801054203850002", "Sri Wahyuni"),
                              (4, "1801050101800003", "Agus Salim")]:
        central.receive(make_payload(people.biometrics(person=person, impression=1), nik=nik, name=name))
    assert [o.outcome for o in central.worker.drain()] == ["PRINT_READY"] * 3
    abis = _MarkedAbis()  # shards that already hold all three and confirmed them
    with db.unit_of_work() as s:
        rows = s.scalars(select(NationalRecordRow).order_by(NationalRecordRow.gallery_seq)).all()
        for row in rows:
            abis.insert(row.id, templates_of(row))
        abis.mark_synced(max(r.gallery_seq for r in rows))
        first, second, third = (r.id for r in rows)
        for rid in (first, third):  # revoked before the renumbering rule: they keep their numbers
            s.get(NationalRecordRow, rid).state = "REVOKED"
    mirror = gallery.GalleryMirror(abis)
    with db.unit_of_work() as s:
        mirror.refresh(s)
    assert first not in abis.gallery and third not in abis.gallery and second in abis.gallery  # swept
    assert [sorted(b) for b in abis.batches] == [sorted([first, third])]  # in one call

    with db.unit_of_work() as s:
        row = s.get(NationalRecordRow, second)
        old = row.gallery_seq
        row.state = "REVOKED"
        gallery.renumber_leaving_gallery(s, record=row)
        assert row.gallery_seq > old
    reads: list[str] = []
    listen = lambda *a: reads.append(a[2]) if "central_records" in a[2] else None  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        with db.unit_of_work() as s:
            mirror.refresh(s)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert second not in abis.gallery and len(abis.gallery) == 0 and len(abis.batches) == 1
    assert len(reads) == 1 and "gallery_seq >" in reads[0]  # the new numbers only: no sweep of every revoked


def test_a_decision_decrypts_the_packets_images_once_not_at_every_load(central, people, db, monkeypatch):
    """Images are most of a packet (~1.5 MB with ten fingers) and a decision loads its job and its record
    a dozen times: only the validate stage may read them (the columns holding them are deferred)."""
    from ktpel.store import types

    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    packet_bytes = len(json.dumps(p))
    assert sum(len(v) for v in p["images"].values()) > 0.8 * packet_bytes  # the images are the packet's bulk
    central.receive(p)
    real, decrypted = types.cipher, []

    class Counting:
        def __init__(self, inner) -> None:  # noqa: ANN001
            self.inner = inner

        def encrypt(self, data: bytes) -> bytes:
            return self.inner.encrypt(data)

        def decrypt(self, data: bytes) -> bytes:
            decrypted.append(len(data))
            return self.inner.decrypt(data)

    monkeypatch.setattr(types, "cipher", lambda: Counting(real()))
    [out] = central.worker.drain()
    assert out.outcome == "PRINT_READY"
    # the payload once (validate), the rest small: demographics, templates, results
    assert packet_bytes < sum(decrypted) < 1.5 * packet_bytes, (packet_bytes, sorted(decrypted)[-12:])
    # an adjudicator still sees the images: read when asked for, from the one copy sync holds
    with db.unit_of_work() as s:
        row = s.get(NationalRecordRow, p["enrollment_id"])
        assert records.image_keys(row) == sorted(p["images"])
        assert all(records.image(s, row=row, key=k) == (v, p["image_types"][k]) for k, v in p["images"].items())
        assert records.image(s, row=row, key="finger_10") is None  # not captured (declared amputated)
        # held once: neither the record nor the job copies them
        assert len(row.images) < 1000
        kept = json.loads(s.scalars(select(PipelineJobRow.payload)).one())
    assert kept == {**p, "images": {}, IMAGES_HELD: True}


def test_a_records_images_are_read_from_its_packet_once_and_only_while_it_is_held(central, people, db,
                                                                                 monkeypatch):
    """An adjudication page asks for each image in its own request: the ~2 MB packet holding them is read
    once for all of them, and nothing is served from it once central no longer holds it."""
    from ktpel.central.sync import intake
    from ktpel.store.schema.sync import CentralPacketRow

    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    pid = central.receive(p)
    [out] = central.worker.drain()
    assert out.outcome == "PRINT_READY"
    real, reads = intake.held_payload, []

    def counting(session, *, packet_id):  # noqa: ANN001, ANN202
        reads.append(packet_id)
        return real(session, packet_id=packet_id)

    monkeypatch.setattr(intake, "held_payload", counting)
    keys = sorted(p["images"])
    for _ in range(2):  # every image, twice: as a page and its reload ask for them
        with db.unit_of_work() as s:
            row = s.get(NationalRecordRow, p["enrollment_id"])
            assert [records.image(s, row=row, key=k) for k in keys] == [(p["images"][k], p["image_types"][k])
                                                                        for k in keys]
    assert reads == [pid]
    with db.unit_of_work() as s:
        s.delete(s.get(CentralPacketRow, pid))
    with db.unit_of_work() as s:
        assert records.image(s, row=s.get(NationalRecordRow, p["enrollment_id"]), key="face") is None
    assert reads == [pid, pid]


def test_a_job_that_brings_its_images_gives_them_to_the_record_and_keeps_none(central, people, db):
    """A caller that holds no packet (the demo's planted recordings, jobs queued before sync held the images):
    the job carries the images, the record takes them, the job keeps its packet without them."""
    from ktpel.central.pipeline.intake import handle_enrollment

    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    with db.unit_of_work() as s:
        handle_enrollment(s, packet_id="unheld", office_code="18.01", kind="enrollment",
                          subject_id=p["enrollment_id"], payload=p)
        assert json.loads(s.scalars(select(PipelineJobRow.payload)).one()) == p
    [out] = central.worker.drain()
    assert out.outcome == "PRINT_READY"
    with db.unit_of_work() as s:
        row = s.get(NationalRecordRow, p["enrollment_id"])
        assert json.loads(row.images) == {"data": p["images"], "types": p["image_types"]}
        assert records.image(s, row=row, key="face") == (p["images"]["face"], "image/x-portable-graymap")
        assert json.loads(s.scalars(select(PipelineJobRow.payload)).one()) == {**p, "images": {}, "image_types": {}}


def test_a_job_whose_held_images_are_gone_is_dead_lettered_with_the_reason(central, people, db):
    from ktpel.store.schema.sync import CentralPacketRow

    p = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    pid = central.receive(p)
    with db.unit_of_work() as s:
        s.delete(s.get(CentralPacketRow, pid))
    [out] = central.worker.drain()
    assert out.status == "dead"
    job = _job(db, pid)
    assert job.stage == "validate" and f"images of packet {pid} are not held by central" in job.last_error
    assert _record(db, p["enrollment_id"]) is None  # nothing half-written
