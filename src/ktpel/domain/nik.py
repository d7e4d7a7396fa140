"""NIK (Nomor Induk Kependudukan): 16 digits = district (6) + birth date DDMMYY (day + 40 for women) + serial."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from ktpel.domain import clock
from ktpel.domain.errors import KtpelError, ValidationFailed
from ktpel.domain.wilayah import RegionRegistry, dotted_district


class Sex(str, Enum):
    """Jenis kelamin, with the letters a KTP-El uses."""

    MALE = "L"  # laki-laki
    FEMALE = "P"  # perempuan

    @property
    def label_id(self) -> str:
        return "LAKI-LAKI" if self is Sex.MALE else "PEREMPUAN"


class NikError(KtpelError):
    """One specific thing wrong with a NIK."""


def _err(code: str, message_id: str, message_en: str) -> NikError:
    return NikError(message_id, message_en, code=code)


@dataclass(frozen=True, slots=True)
class Nik:
    value: str
    district_code: str  # dotted, e.g. "18.01.06"
    birth_date: dt.date
    sex: Sex
    serial: str

    def __str__(self) -> str:
        return self.value


def century_year(yy: int, *, today: dt.date) -> int:
    """Two-digit years are read as the most recent past year (no one is born in the future)."""
    year = 2000 + yy
    return year if year <= today.year else 1900 + yy


def parse_nik(raw: str, *, regions: RegionRegistry, today: dt.date | None = None) -> Nik:
    """Parse and validate a NIK, raising ValidationFailed that lists every specific problem."""
    today = today or clock.today_wib()
    value = (raw or "").strip().replace(" ", "")
    if not value.isascii() or not value.isdigit():
        raise ValidationFailed([
            _err("nik_not_digits", "NIK hanya boleh berisi angka.", "A NIK contains digits only.")
        ])
    if len(value) != 16:
        raise ValidationFailed([
            _err(
                "nik_length",
                f"NIK harus 16 digit, bukan {len(value)}.",
                f"A NIK has 16 digits, not {len(value)}.",
            )
        ])
    errors: list[KtpelError] = []
    district = dotted_district(value[:6])
    region = regions.get(district)
    if region is None or region.level != 3:
        errors.append(_err(
            "nik_unknown_district",
            f"Kode kecamatan {district} tidak terdaftar di Kemendagri.",
            f"District code {district} is not a Kemendagri district.",
        ))
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    sex = Sex.MALE
    if day > 40:
        sex, day = Sex.FEMALE, day - 40
    birth_date: dt.date | None = None
    try:
        birth_date = dt.date(century_year(yy, today=today), month, day)
    except ValueError:
        errors.append(_err(
            "nik_invalid_date",
            f"Tanggal lahir pada NIK ({value[6:8]}-{value[8:10]}-{value[10:12]}) tidak ada.",
            f"The birth date in the NIK ({value[6:8]}-{value[8:10]}-{value[10:12]}) does not exist.",
        ))
    if birth_date is not None and birth_date > today:
        errors.append(_err(
            "nik_future_date",
            "Tanggal lahir pada NIK ada di masa depan.",
            "The birth date in the NIK is in the future.",
        ))
    serial = value[12:]
    if serial == "0000":
        errors.append(_err(
            "nik_serial_zero",
            "Nomor urut NIK dimulai dari 0001, bukan 0000.",
            "A NIK serial starts at 0001, not 0000.",
        ))
    if errors or birth_date is None:
        raise ValidationFailed(errors)
    return Nik(value=value, district_code=district, birth_date=birth_date, sex=sex, serial=serial)


def format_nik(*, district_code: str, birth_date: dt.date, sex: Sex, serial: int) -> str:
    """Build the NIK for a district, birth date, sex and serial (1–9999)."""
    if not 1 <= serial <= 9999:
        raise ValueError(f"serial {serial} outside 1..9999")
    day = birth_date.day + (40 if sex is Sex.FEMALE else 0)
    return (
        district_code.replace(".", "")
        + f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
    )


def check_matches(nik: Nik, *, sex: Sex, birth_date: dt.date) -> list[NikError]:
    """What the NIK encodes that disagrees with the resident's record."""
    problems: list[NikError] = []
    if nik.sex is not sex:
        problems.append(_err(
            "nik_sex_mismatch",
            f"NIK menunjukkan jenis kelamin {nik.sex.label_id}, data penduduk {sex.label_id}.",
            f"The NIK encodes sex {nik.sex.value}, the record says {sex.value}.",
        ))
    if nik.birth_date != birth_date:
        problems.append(_err(
            "nik_birth_date_mismatch",
            f"Tanggal lahir pada NIK ({nik.birth_date:%d-%m-%Y}) berbeda dengan data ({birth_date:%d-%m-%Y}).",
            f"The NIK encodes birth date {nik.birth_date}, the record says {birth_date}.",
        ))
    return problems
