"""Central outcomes with the names officers use in SIAK, finer than the enrollment state.

Print Ready Record (PRR), Adjudicate Record (ADJ), Request Validation (RV: a demographic doubt only, e.g.
the NIK already held by another record, with no biometric match), Duplicate Record one-to-one (DUP-1:1:
the same NIK recorded again) or one-to-many (DUP-1:N: the same person under another NIK), Enroll Failure
at Regional (EFAR: what the office sent was incomplete or malformed, or its NIK retired) or at Central
(EFAC: central's biometric quality threshold not met).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    code: str
    name_en: str  # the officers' name (SIAK English terms)
    name_id: str


OUTCOMES = {
    "PRR": Outcome("PRR", "Print Ready Record", "siap cetak"),
    "ADJ": Outcome("ADJ", "Adjudicate Record", "diperiksa petugas pusat (biometrik)"),
    "RV": Outcome("RV", "Request Validation", "validasi data kependudukan (bukan biometrik)"),
    "DUP-1:1": Outcome("DUP-1:1", "Duplicate Record (one-to-one)", "data ganda: NIK yang sama direkam lagi"),
    "DUP-1:N": Outcome("DUP-1:N", "Duplicate Record (one-to-many)", "data ganda: orang yang sama dengan NIK lain"),
    "EFAR": Outcome("EFAR", "Enroll Failure at Regional", "gagal di daerah: data kiriman kantor tidak lengkap"),
    "EFAC": Outcome("EFAC", "Enroll Failure at Central", "gagal di pusat: kualitas biometrik kurang"),
}


def classify(*, kind: str, data: dict) -> Outcome | None:
    """The outcome an event from central carries; None for events that are not an outcome."""
    if kind == "enrollment.print_ready":
        return OUTCOMES["PRR"]
    if kind == "enrollment.adjudication":
        reasons = set(data.get("reasons") or [])
        return OUTCOMES["RV"] if reasons and reasons <= {"nik_collision"} else OUTCOMES["ADJ"]
    if kind == "enrollment.duplicate":
        return OUTCOMES["DUP-1:1" if data.get("match") == "one_to_one" else "DUP-1:N"]
    if kind == "enrollment.failed":
        return OUTCOMES["EFAC" if data.get("at") == "central" else "EFAR"]
    return None
