"""The demographic model is trained once, stored, and shared: every worker applies the stored model."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ktpel.domain.clock import today_wib
from ktpel.central.dedup import service
from ktpel.seeding.generator import DistrictGenerator
from ktpel.store.schema.central import DedupModelRow, NationalRecordRow


def _add_records(db, regions, names, *, count: int, seed: int) -> None:
    gen = DistrictGenerator(regions=regions, regency_code="18.01", names=names, seed=seed,
                            today=today_wib())
    people = [r for fam in gen.families(residents=count) for r in fam.members][:count]
    with db.unit_of_work() as s:
        for k, r in enumerate(people):
            s.add(NationalRecordRow(
                id=f"R{seed}-{k}", packet_id=f"P{seed}-{k}", office_code="18.01", nik=r.nik, name=r.name,
                birth_place=r.birth_place, birth_date=r.birth_date, sex=r.sex.value, street=r.address.street,
                village_code=r.address.village_code, father_name=r.father_name, mother_name=r.mother_name,
                templates="{}", state="PRINT_READY"))


def _stored(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(DedupModelRow))


def test_one_worker_trains_the_others_load_the_stored_model_until_records_double(db, regions, names, monkeypatch):
    monkeypatch.setattr(service, "RECHECK_S", 0.0)  # count on every call (workers count once a minute)
    _add_records(db, regions, names, count=80, seed=1)
    with db.unit_of_work() as s:
        first = service.current_model(s, db_key=db.url + "#a", trained_by="worker-a")
    assert _stored(db) == 1 and first.trained_on.get("engine", "").startswith("splink")
    # another worker process (empty in-process cache) applies the stored model instead of training
    with db.unit_of_work() as s:
        second = service.current_model(s, db_key=db.url + "#b", trained_by="worker-b")
    assert _stored(db) == 1 and second.as_dict() == first.as_dict()
    # twice the records: due again; the retrained model is stored for everyone
    _add_records(db, regions, names, count=90, seed=2)
    with db.unit_of_work() as s:
        service.current_model(s, db_key=db.url + "#b", trained_by="worker-b")
        row = service.stored_model(s)
        assert (row.records, row.trained_by) == (170, "worker-b")
    assert _stored(db) == 2


def test_below_the_training_floor_the_priors_are_stored_and_reported(db, regions, names):
    from ktpel.central.pipeline.service import dedup_model_summary

    _add_records(db, regions, names, count=10, seed=3)
    with db.unit_of_work() as s:
        assert dedup_model_summary(s) is None
        model = service.current_model(s, db_key=db.url + "#w", trained_by="w")
        assert model.as_dict() == service.fs.Model.default().as_dict()
        summary = dedup_model_summary(s)
    assert summary["records"] == 10 and summary["engine"].startswith("priors")


def test_a_nik_collision_and_same_day_births_survive_the_blocking_cap(db):
    from ktpel.central.dedup.phonetic import name_key

    def rec(rid: str, *, nik: str, name: str, born: dt.date) -> NationalRecordRow:
        return NationalRecordRow(id=rid, packet_id=rid, office_code="18.01", nik=nik, name=name, birth_place="KALIANDA",
                                 birth_date=born, sex="P", street="", name_key=name_key(name), templates="{}",
                                 state="PRINT_READY")

    day = dt.date(1990, 7, 5)
    with db.unit_of_work() as s:
        probe = rec("probe", nik="1801054507900001", name="SITI RAHAYU", born=day)
        s.add(probe)
        s.add(rec("sameday", nik="1801054507900099", name="NURUL HIDAYAH", born=day))
        s.flush()
        # then many namesakes of the same birth year (the block a common first name makes), received later
        for k in range(8):
            s.add(rec(f"namesake{k}", nik=f"18010545079{k + 10:05d}", name=f"SITI AMINAH {k}",
                      born=dt.date(1990, 3, 1 + k)))
        s.add(rec("collision", nik=probe.nik, name="DEWI LESTARI", born=dt.date(1971, 1, 1)))
    with db.unit_of_work() as s:
        found = service.find_candidates(s, record=s.get(NationalRecordRow, "probe"), model=service.fs.Model.default(),
                                        block_limit=1)
    # the collision lies outside every block and is still found, first; the one record the cap lets
    # through is the same-day birth, not one of the namesakes recorded before it
    assert [m.other_id for m in found] == ["collision", "sameday"] and found[0].nik_collision
