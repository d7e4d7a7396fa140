"""Resident (penduduk) and the fields a KTP-El shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from ktpel.domain import clock
from ktpel.domain.errors import KtpelError, ValidationFailed
from ktpel.domain.nik import Nik, Sex, check_matches, parse_nik
from ktpel.domain.wilayah import RegionRegistry


class Religion(str, Enum):
    """Agama as recorded by Dukcapil (six religions + belief)."""

    ISLAM = "ISLAM"
    KRISTEN = "KRISTEN"
    KATOLIK = "KATOLIK"
    HINDU = "HINDU"
    BUDDHA = "BUDDHA"
    KHONGHUCU = "KHONGHUCU"
    KEPERCAYAAN = "KEPERCAYAAN TERHADAP TUHAN YME"


class MaritalStatus(str, Enum):
    """Status perkawinan."""

    SINGLE = "BELUM KAWIN"
    MARRIED = "KAWIN"
    DIVORCED = "CERAI HIDUP"
    WIDOWED = "CERAI MATI"


class BloodType(str, Enum):
    A = "A"
    B = "B"
    AB = "AB"
    O = "O"
    UNKNOWN = "-"


class Citizenship(str, Enum):
    WNI = "WNI"
    WNA = "WNA"


class FamilyRole(str, Enum):
    """Status hubungan dalam keluarga on the family card (KK)."""

    HEAD = "KEPALA KELUARGA"
    SPOUSE = "ISTRI"
    CHILD = "ANAK"
    OTHER = "FAMILI LAIN"


ADULT_AGE = 17  # a KTP-El is issued at 17, or earlier when married


@dataclass(slots=True)
class Address:
    street: str
    rt: str  # 3 digits, e.g. "002"
    rw: str
    village_code: str  # dotted level-4 code, e.g. "18.01.06.2001"


@dataclass(slots=True)
class Resident:
    """One person on a family card; the card shows most of these fields."""

    nik: str
    kk_number: str
    name: str
    birth_place: str
    birth_date: dt.date
    sex: Sex
    blood_type: BloodType
    address: Address
    religion: Religion
    marital_status: MaritalStatus
    occupation: str
    citizenship: Citizenship = Citizenship.WNI
    family_role: FamilyRole = FamilyRole.OTHER
    father_name: str = ""
    mother_name: str = ""
    phones: list[str] = field(default_factory=list)

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    def eligible_for_card(self, *, today: dt.date) -> bool:
        return self.age_on(today) >= ADULT_AGE or self.marital_status is not MaritalStatus.SINGLE


def _field_error(code: str, message_id: str, message_en: str) -> KtpelError:
    return KtpelError(message_id, message_en, code=code)


def validate_resident(
    resident: Resident, *, regions: RegionRegistry, today: dt.date | None = None
) -> Nik:
    """Check a resident record as the domain requires; raise ValidationFailed listing every problem."""
    today = today or clock.today_wib()
    nik = parse_nik(resident.nik, regions=regions, today=today)
    errors: list[KtpelError] = list(check_matches(nik, sex=resident.sex, birth_date=resident.birth_date))
    if not (resident.kk_number.isdigit() and len(resident.kk_number) == 16):
        errors.append(_field_error(
            "kk_invalid", "Nomor KK harus 16 digit angka.", "A family card number has 16 digits."
        ))
    if not resident.name.strip():
        errors.append(_field_error("name_empty", "Nama wajib diisi.", "Name is required."))
    elif len(resident.name) > 100:
        errors.append(_field_error(
            "name_too_long", "Nama paling banyak 100 huruf.", "Name is at most 100 characters."
        ))
    village = regions.get(resident.address.village_code)
    if village is None or village.level != 4:
        errors.append(_field_error(
            "village_unknown",
            f"Kode desa/kelurahan {resident.address.village_code} tidak terdaftar.",
            f"Village code {resident.address.village_code} is unknown.",
        ))
    for label, value in (("RT", resident.address.rt), ("RW", resident.address.rw)):
        if not (value.isdigit() and 1 <= len(value) <= 3):
            errors.append(_field_error(
                f"{label.lower()}_invalid", f"{label} harus angka 1–3 digit.", f"{label} is 1–3 digits."
            ))
    if errors:
        raise ValidationFailed(errors)
    return nik
