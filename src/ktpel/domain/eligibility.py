"""Who may get a KTP-El (UU 23/2006 art. 63 as amended by UU 24/2013): a resident aged 17 or more, or who
is or has been married. Offices may record at 16 ahead of time; the card then waits for the 17th birthday.
Younger residents are refused with the reason and the next step (the child identity card, KIA)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

NEVER_MARRIED = "BELUM KAWIN"


@dataclass(frozen=True)
class EligibilityPolicy:
    card_age: int = 17  # the law
    recording_age: int = 16  # policy: record a year ahead, print on the 17th birthday


@dataclass(frozen=True)
class Eligibility:
    status: str  # eligible | early | too_young
    age: int
    card_from: dt.date | None = None  # when an early recording may be printed
    reason_id: str = ""
    reason_en: str = ""
    next_id: str = ""
    next_en: str = ""

    @property
    def may_record(self) -> bool:
        return self.status in ("eligible", "early")


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _birthday(birth_date: dt.date, age: int) -> dt.date:
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:  # 29 February
        return dt.date(birth_date.year + age, 3, 1)


def ktp_eligibility(*, birth_date: dt.date, marital_status: str | None, today: dt.date,
                    policy: EligibilityPolicy = EligibilityPolicy()) -> Eligibility:
    """Whether this resident may be recorded for a KTP-El today, and if early, from when the card prints."""
    age = age_on(birth_date, today)
    married = bool(marital_status) and marital_status.upper() != NEVER_MARRIED
    if age >= policy.card_age or married:
        return Eligibility("eligible", age)
    card_from = _birthday(birth_date, policy.card_age)
    if age >= policy.recording_age:
        return Eligibility(
            "early", age, card_from,
            reason_id=f"Usia {age} tahun: boleh direkam sekarang, kartu baru dicetak pada ulang tahun ke-"
                      f"{policy.card_age} ({card_from.strftime('%d-%m-%Y')}).",
            reason_en=f"Aged {age}: may be recorded now; the card prints on the {policy.card_age}th birthday "
                      f"({card_from.isoformat()}).")
    return Eligibility(
        "too_young", age, card_from,
        reason_id=f"Usia {age} tahun dan belum kawin: belum wajib/berhak KTP-El (UU 24/2013: usia "
                  f"{policy.card_age} tahun atau sudah kawin). Perekaman paling cepat usia {policy.recording_age}.",
        reason_en=f"Aged {age} and never married: not yet entitled to a KTP-El (Law 24/2013: {policy.card_age} or "
                  f"married). Recording from age {policy.recording_age} at the earliest.",
        next_id="Langkah selanjutnya: buat Kartu Identitas Anak (KIA) di loket KIA; datang lagi untuk "
                f"perekaman KTP-El mulai {_birthday(birth_date, policy.recording_age).strftime('%d-%m-%Y')}.",
        next_en="Next step: apply for the child identity card (KIA) at the KIA counter; come back for KTP-El "
                f"recording from {_birthday(birth_date, policy.recording_age).isoformat()}.")
