"""Write a synthetic district into the database, whole families per transaction."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import func, insert, literal_column, select

from ktpel.domain import clock
from ktpel.domain.resident import Resident
from ktpel.domain.wilayah import RegionRegistry
from ktpel.security.fields import cipher, name_tokens
from ktpel.seeding.generator import DistrictGenerator, Family
from ktpel.store.db import Database
from ktpel.store.schema.core import ResidentNameTokenRow, ResidentRow


def resident_values(resident: Resident, *, regions: RegionRegistry) -> dict:
    """Column values of one resident row."""
    district = resident.address.village_code.rsplit(".", 1)[0]
    return {
        "nik": resident.nik,
        "kk_number": resident.kk_number,
        "name": resident.name,
        "birth_place": resident.birth_place,
        "birth_date": resident.birth_date,
        "sex": resident.sex.value,
        "blood_type": resident.blood_type.value,
        "street": resident.address.street,
        "rt": resident.address.rt,
        "rw": resident.address.rw,
        "village_code": resident.address.village_code,
        "district_code": district,
        "regency_code": district.rsplit(".", 1)[0],
        "religion": resident.religion.value,
        "marital_status": resident.marital_status.value,
        "occupation": resident.occupation,
        "citizenship": resident.citizenship.value,
        "family_role": resident.family_role.value,
        "father_name": resident.father_name,
        "mother_name": resident.mother_name,
    }


def _used_prefixes(db: Database, *, regency_code: str) -> tuple[dict[str, int], dict[str, int]]:
    """Highest NIK and KK serial already used per 12-digit prefix, so reseeding never collides."""
    prefix = regency_code.replace(".", "")
    niks: dict[str, int] = {}
    kks: dict[str, int] = {}
    with db.unit_of_work() as s:
        for column, found in ((ResidentRow.nik, niks), (ResidentRow.kk_number, kks)):
            # literal positions: PostgreSQL must see GROUP BY and SELECT as the same expression
            head = func.substr(column, literal_column("1"), literal_column("12"))
            tail = func.substr(column, literal_column("13"), literal_column("4"))
            rows = s.execute(select(head, func.max(tail)).where(column.like(prefix + "%")).group_by(head))
            found.update({p: int(m) for p, m in rows})
    return niks, kks


def write_families(db: Database, families: list[Family], *, regions: RegionRegistry) -> int:
    """Insert whole families in one transaction; returns the number of residents written."""
    people = [m for f in families for m in f.members]
    if not people:
        return 0
    c = cipher()
    with db.unit_of_work() as s:
        ids = s.scalars(
            insert(ResidentRow).returning(ResidentRow.id, sort_by_parameter_order=True),
            [resident_values(p, regions=regions) for p in people],
        ).all()
        tokens = [
            {"resident_id": rid, "token": c.blind_index(t)}
            for rid, p in zip(ids, people)
            for t in name_tokens(p.name)
        ]
        if tokens:
            s.execute(insert(ResidentNameTokenRow), tokens)
    return len(people)


def seed_district(
    db: Database,
    *,
    regions: RegionRegistry,
    names: dict[str, list[str]],
    regency_code: str,
    residents: int,
    seed: int = 1,
    today: dt.date | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create `residents` synthetic residents in whole families; an interrupt loses at most one batch."""
    niks, kks = _used_prefixes(db, regency_code=regency_code)
    gen = DistrictGenerator(
        regions=regions, regency_code=regency_code, names=names, seed=seed,
        today=today or clock.today_wib(), used_nik_prefixes=niks, used_kk_prefixes=kks,
    )
    written = 0
    batch: list[Family] = []
    size = 0
    for family in gen.families(residents=residents):
        batch.append(family)
        size += len(family.members)
        if size >= batch_size:
            written += write_families(db, batch, regions=regions)
            if progress:
                progress(size)
            batch, size = [], 0
    written += write_families(db, batch, regions=regions)
    if progress and size:
        progress(size)
    return written
