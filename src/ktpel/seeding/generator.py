"""Deterministic generation of families (KK) and residents for one regency; pure, no I/O."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Iterator

from ktpel.domain.nik import Sex, format_nik
from ktpel.domain.resident import (
    Address,
    BloodType,
    FamilyRole,
    MaritalStatus,
    Religion,
    Resident,
)
from ktpel.domain.wilayah import RegionRegistry

# Lampung's religious composition, roughly (BPS): mostly Muslim, Balinese Hindu and Christian minorities.
RELIGIONS = [
    (Religion.ISLAM, 92), (Religion.KRISTEN, 3), (Religion.KATOLIK, 2),
    (Religion.HINDU, 2), (Religion.BUDDHA, 1),
]
BLOOD = [(BloodType.O, 37), (BloodType.A, 26), (BloodType.B, 28), (BloodType.AB, 6), (BloodType.UNKNOWN, 3)]
ADULT_JOBS = [
    ("PETANI/PEKEBUN", 30), ("WIRASWASTA", 14), ("KARYAWAN SWASTA", 12), ("BURUH HARIAN LEPAS", 10),
    ("PEDAGANG", 7), ("NELAYAN/PERIKANAN", 5), ("PEGAWAI NEGERI SIPIL", 4), ("GURU", 3),
    ("SOPIR", 2), ("PERANGKAT DESA", 1), ("BELUM/TIDAK BEKERJA", 5),
]
STREETS = ["Jl. Raya", "Jl. Lintas Sumatera", "Jl. Pahlawan", "Jl. Merdeka", "Jl. Veteran",
           "Jl. Pesantren", "Jl. Kartini", "Jl. Sudirman", "Jl. Diponegoro", "Jl. Pasar", "Dusun"]
OTHER_BIRTH_PLACES = ["BANDAR LAMPUNG", "METRO", "JAKARTA", "PALEMBANG", "SERANG", "BOGOR",
                      "YOGYAKARTA", "DENPASAR", "SURABAYA", "MEDAN"]


def _weighted(rng: random.Random, table: list[tuple[object, int]]):  # noqa: ANN202
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


@dataclass(slots=True)
class Family:
    kk_number: str
    members: list[Resident]


class DistrictGenerator:
    """Families with plausible ages, sexes and names, spread over a regency's real districts and villages."""

    def __init__(
        self,
        *,
        regions: RegionRegistry,
        regency_code: str,
        names: dict[str, list[str]],
        seed: int,
        today: dt.date,
        used_nik_prefixes: dict[str, int] | None = None,
        used_kk_prefixes: dict[str, int] | None = None,
    ) -> None:
        regency = regions.get(regency_code)
        if regency is None or regency.level != 2:
            raise ValueError(f"{regency_code} is not a regency code")
        self.rng = random.Random(seed)
        self.today = today
        self.names = names
        self.districts = list(regions.descendants(regency_code, level=3))
        self.villages = {d.code: list(regions.descendants(d.code, level=4)) for d in self.districts}
        self.districts = [d for d in self.districts if self.villages[d.code]]
        if not self.districts:
            raise ValueError(f"regency {regency_code} has no districts with villages")
        self.nik_serials: dict[str, int] = dict(used_nik_prefixes or {})
        self.kk_serials: dict[str, int] = dict(used_kk_prefixes or {})

    def _birth_date(self, *, age: int) -> dt.date:
        start = dt.date(self.today.year - age - 1, self.today.month, 1) + dt.timedelta(days=1)
        return start + dt.timedelta(days=self.rng.randrange(0, 364))

    def _nik(self, *, district_code: str, birth_date: dt.date, sex: Sex) -> str:
        prefix = format_nik(district_code=district_code, birth_date=birth_date, sex=sex, serial=1)[:12]
        serial = self.nik_serials.get(prefix, 0) + 1
        if serial > 9999:
            raise OverflowError(f"NIK serials exhausted for {prefix}")
        self.nik_serials[prefix] = serial
        return prefix + f"{serial:04d}"

    def _kk(self, *, district_code: str) -> str:
        issued = self.today - dt.timedelta(days=self.rng.randrange(30, 3650))
        prefix = district_code.replace(".", "") + issued.strftime("%d%m%y")
        serial = self.kk_serials.get(prefix, 0) + 1
        self.kk_serials[prefix] = serial
        return prefix + f"{serial:04d}"

    def _name(self, sex: Sex) -> str:
        key = "male" if sex is Sex.MALE else "female"
        first = self.rng.choice(self.names[f"first_{key}"])
        if self.rng.random() < 0.75:
            return f"{first} {self.rng.choice(self.names[f'last_{key}'])}".upper()
        return first.upper()

    def _person(
        self, *, sex: Sex, age: int, role: FamilyRole, family: dict, father: str, mother: str,
        marital: MaritalStatus, occupation: str, religion: Religion,
    ) -> Resident:
        birth_date = self._birth_date(age=age)
        born_here = self.rng.random() < 0.8
        birth_place = (
            self.rng.choice(self.districts).name.upper() if born_here
            else self.rng.choice(OTHER_BIRTH_PLACES)
        )
        return Resident(
            nik=self._nik(district_code=family["district"], birth_date=birth_date, sex=sex),
            kk_number=family["kk"],
            name=self._name(sex),
            birth_place=birth_place,
            birth_date=birth_date,
            sex=sex,
            blood_type=_weighted(self.rng, BLOOD),
            address=family["address"],
            religion=religion,
            marital_status=marital,
            occupation=occupation,
            family_role=role,
            father_name=father,
            mother_name=mother,
        )

    def family(self) -> Family:
        """One household: a head, usually a spouse, and 0–4 children of plausible ages."""
        rng = self.rng
        district = rng.choice(self.districts)
        village = rng.choice(self.villages[district.code])
        address = Address(
            street=f"{rng.choice(STREETS)} {rng.randint(1, 120)}" if rng.random() < 0.7
            else f"Dusun {rng.choice(['I', 'II', 'III', 'IV', 'V'])}",
            rt=f"{rng.randint(1, 15):03d}",
            rw=f"{rng.randint(1, 8):03d}",
            village_code=village.code,
        )
        fam = {"district": district.code, "address": address, "kk": self._kk(district_code=district.code)}
        religion = _weighted(rng, RELIGIONS)
        head_age = min(90, max(19, int(rng.gauss(44, 13))))
        members: list[Resident] = []
        single = rng.random() < 0.12
        head_sex = Sex.FEMALE if single and rng.random() < 0.5 else Sex.MALE
        marital = MaritalStatus.SINGLE if single and head_age < 30 else (
            MaritalStatus.WIDOWED if single else MaritalStatus.MARRIED)
        head = self._person(
            sex=head_sex, age=head_age, role=FamilyRole.HEAD, family=fam,
            father=self._name(Sex.MALE), mother=self._name(Sex.FEMALE), marital=marital,
            occupation="PENSIUNAN" if head_age >= 60 and rng.random() < 0.3 else _weighted(rng, ADULT_JOBS),
            religion=religion,
        )
        members.append(head)
        if single:
            return Family(kk_number=fam["kk"], members=members)
        wife_age = min(90, max(18, head_age - rng.randint(-2, 8)))
        wife = self._person(
            sex=Sex.FEMALE, age=wife_age, role=FamilyRole.SPOUSE, family=fam,
            father=self._name(Sex.MALE), mother=self._name(Sex.FEMALE),
            marital=MaritalStatus.MARRIED,
            occupation="MENGURUS RUMAH TANGGA" if rng.random() < 0.6 else _weighted(rng, ADULT_JOBS),
            religion=religion,
        )
        members.append(wife)
        max_child_age = wife_age - 18
        for _ in range(rng.choice([0, 1, 2, 2, 3, 3, 4])):
            if max_child_age < 0:
                break
            age = rng.randint(0, min(max_child_age, 30))
            sex = rng.choice([Sex.MALE, Sex.FEMALE])
            occupation = (
                "BELUM/TIDAK BEKERJA" if age < 6 else "PELAJAR/MAHASISWA" if age < 23
                else _weighted(rng, ADULT_JOBS)
            )
            members.append(self._person(
                sex=sex, age=age, role=FamilyRole.CHILD, family=fam, father=head.name,
                mother=wife.name, marital=MaritalStatus.SINGLE, occupation=occupation, religion=religion,
            ))
        return Family(kk_number=fam["kk"], members=members)

    def families(self, *, residents: int) -> Iterator[Family]:
        """Families until exactly `residents` people exist (the last household may be smaller)."""
        left = residents
        while left > 0:
            fam = self.family()
            fam.members = fam.members[:left]
            left -= len(fam.members)
            yield fam
