import datetime as dt

import pytest
from sqlalchemy import func, select

from ktpel.domain.nik import parse_nik
from ktpel.domain.resident import FamilyRole
from ktpel.seeding import service as seeding
from ktpel.seeding.generator import DistrictGenerator
from ktpel.store.schema.core import ResidentRow

TODAY = dt.date(2026, 11, 29)


def test_same_seed_gives_the_same_district(regions, names):
    def people(seed):
        gen = DistrictGenerator(regions=regions, regency_code="18.01", names=names, seed=seed, today=TODAY)
        return [(p.nik, p.name, p.kk_number) for f in gen.families(residents=300) for p in f.members]

    assert people(7) == people(7)
    assert people(7) != people(8)


def test_generated_residents_are_valid_and_plausible(regions, names):
    gen = DistrictGenerator(regions=regions, regency_code="18.01", names=names, seed=3, today=TODAY)
    families = list(gen.families(residents=2000))
    people = [p for f in families for p in f.members]
    assert len(people) == 2000
    assert len({p.nik for p in people}) == 2000
    districts = set()
    for f in families:
        head = f.members[0]
        assert head.family_role is FamilyRole.HEAD
        assert {p.kk_number for p in f.members} == {f.kk_number}
        for child in (p for p in f.members if p.family_role is FamilyRole.CHILD):
            mother = next(p for p in f.members if p.family_role is FamilyRole.SPOUSE)
            assert mother.age_on(TODAY) - child.age_on(TODAY) >= 17
    for p in people:
        nik = parse_nik(p.nik, regions=regions, today=TODAY)
        assert nik.sex is p.sex and nik.birth_date == p.birth_date
        assert p.address.village_code.startswith(nik.district_code + ".")
        districts.add(nik.district_code)
    assert len(districts) >= 10  # spread over the regency's real districts


def test_seed_writes_residents_and_reseeding_never_collides(db, regions, names):
    n1 = seeding.seed_district(db, regions=regions, names=names, regency_code="18.01", residents=500, seed=1, today=TODAY)
    n2 = seeding.seed_district(db, regions=regions, names=names, regency_code="18.01", residents=500, seed=1, today=TODAY)
    with db.unit_of_work() as s:
        count = s.scalar(select(func.count()).select_from(ResidentRow))
        distinct = s.scalar(select(func.count(func.distinct(ResidentRow.nik))))
    assert n1 == n2 == 500 and count == distinct == 1000


def test_interrupted_seed_keeps_whole_families_only(db, regions, names, monkeypatch):
    real = seeding.write_families
    calls = {"n": 0}

    def flaky(database, families, *, regions):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(database, families, regions=regions)

    monkeypatch.setattr(seeding, "write_families", flaky)
    with pytest.raises(KeyboardInterrupt):
        seeding.seed_district(db, regions=regions, names=names, regency_code="18.01", residents=5000,
                              seed=2, today=TODAY, batch_size=500)
    with db.unit_of_work() as s:
        rows = s.execute(select(ResidentRow.kk_number, ResidentRow.family_role)).all()
    assert rows, "the first batches were committed"
    by_kk: dict[str, list[str]] = {}
    for kk, role in rows:
        by_kk.setdefault(kk, []).append(role)
    assert all(roles.count(FamilyRole.HEAD.value) == 1 for roles in by_kk.values())
