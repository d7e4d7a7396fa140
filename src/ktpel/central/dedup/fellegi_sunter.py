"""Fellegi–Sunter record linkage (pure): comparison vectors and match weights that explain.

Each field comparison falls into a level (0 = disagree … k = exact). For a pair, the match weight is
Σ log2(m_l / u_l) over fields, with m_l = P(level | same person) and u_l = P(level | different people).
m/u are trained by Splink on DuckDB over the national records (`splink_training.py`: u from random
pairs, m and λ by EM over blocked pairs); this module only applies a trained `Model`, so the worker
scores a probe without I/O. Splink's comparison levels are SQL written to give exactly `compare()`'s
levels, which is why similarity here is a Levenshtein ratio (DuckDB computes the same one). The result
explains a candidate (which fields agree, how much each weighs) and prioritises adjudication; it never
rejects anyone on its own.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ktpel.central.dedup.phonetic import name_keys, normalise_name

# field -> number of levels (level 0 = disagree, highest = exact)
FIELDS: dict[str, int] = {
    "name": 4,  # 0 differ, 1 shares a phonetic word, 2 similar (ratio ≥ NAME_SIMILAR), 3 exact
    "birth_date": 3,  # 0 differ, 1 one of day/month/year differs or day/month swapped, 2 exact
    "birth_place": 3,  # 0 differ, 1 shares a phonetic word, 2 exact
    "sex": 2,
    "father_name": 3,  # 0 differ, 1 shares a phonetic word, 2 exact  (missing on either side: not counted)
    "mother_name": 3,
    "address": 4,  # 0 other village, 1 same district, 2 same village, 3 same village + similar street
}
NAME_SIMILAR = 0.85  # Levenshtein ratio of two normalised names
STREET_SIMILAR = 0.8  # Levenshtein ratio of two streets (ASCII, lower case)
# weak but reasonable priors (m for the top level; the rest share what is left): the model until
# there are records to train on, and the value of any level Splink could not estimate
_M_START = {"name": 0.9, "birth_date": 0.85, "birth_place": 0.8, "sex": 0.98, "father_name": 0.8,
            "mother_name": 0.8, "address": 0.6}


@dataclass(frozen=True)
class Person:
    """The demographic fields demographic dedup compares."""

    id: str
    nik: str
    name: str
    birth_date: dt.date
    birth_place: str
    sex: str
    father_name: str = ""
    mother_name: str = ""
    village_code: str = ""
    street: str = ""


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute: 1 each), as DuckDB's `levenshtein`."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """1 − distance / longer length: the same double arithmetic as the SQL in splink_training."""
    return 1 - levenshtein(a, b) / max(len(a), len(b)) if a and b else 0.0


def street_key(street: str) -> str:
    """A street as compared: ASCII, lower case (SQL and Python then count the same characters)."""
    return unicodedata.normalize("NFKD", street or "").encode("ascii", "ignore").decode("ascii").lower()


def _name_level(a: str, b: str, *, levels: int) -> int | None:
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return None
    if na == nb:
        return levels - 1
    if levels == 4 and similarity(na, nb) >= NAME_SIMILAR:
        return 2
    if name_keys(na) & name_keys(nb):
        return 1
    return 0


def compare(a: Person, b: Person) -> dict[str, int]:
    """The comparison vector of two people (fields missing on either side are left out)."""
    out: dict[str, int] = {}
    lv = _name_level(a.name, b.name, levels=4)
    if lv is not None:
        out["name"] = lv
    if a.birth_date == b.birth_date:
        out["birth_date"] = 2
    else:
        da, db = a.birth_date, b.birth_date
        same = (da.year == db.year) + (da.month == db.month) + (da.day == db.day)
        swapped = da.year == db.year and da.day == db.month and da.month == db.day
        out["birth_date"] = 1 if same == 2 or swapped else 0
    lv = _name_level(a.birth_place, b.birth_place, levels=3)
    if lv is not None:
        out["birth_place"] = lv
    out["sex"] = int(a.sex == b.sex)
    for f in ("father_name", "mother_name"):
        lv = _name_level(getattr(a, f), getattr(b, f), levels=3)
        if lv is not None:
            out[f] = lv
    if a.village_code and b.village_code:
        if a.village_code == b.village_code:
            similar = similarity(street_key(a.street), street_key(b.street)) >= STREET_SIMILAR
            out["address"] = 3 if similar else 2
        else:
            out["address"] = 1 if a.village_code[:8] == b.village_code[:8] else 0
    return out


@dataclass
class Model:
    """m and u per field level, and the prior probability λ that a blocked pair is a match."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float = 0.01
    trained_on: dict = field(default_factory=dict)

    @classmethod
    def default(cls) -> "Model":
        """Priors only: used until enough national records exist to train on."""
        m, u = {}, {}
        for f, k in FIELDS.items():
            top = _M_START[f]
            m[f] = [(1 - top) / (k - 1)] * (k - 1) + [top]
            u[f] = [0.9] + [0.1 / (k - 1)] * (k - 1) if f != "sex" else [0.5, 0.5]
            if f == "birth_date":
                u[f] = [0.97, 0.029, 0.001]
            if f == "name":
                u[f] = [0.9, 0.09, 0.009, 0.001]
        return cls(m=m, u=u)

    def weights(self, vector: Mapping[str, int]) -> dict[str, float]:
        """log2(m/u) of each field's level: positive agrees, negative disagrees."""
        return {f: math.log2(max(self.m[f][lv], 1e-9) / max(self.u[f][lv], 1e-9)) for f, lv in vector.items()}

    def score(self, vector: Mapping[str, int]) -> float:
        """Total match weight of a comparison vector."""
        return sum(self.weights(vector).values())

    def probability(self, vector: Mapping[str, int]) -> float:
        """Posterior probability that the pair is one person, given λ."""
        w = self.score(vector) + math.log2(self.prior / (1 - self.prior))
        return 1.0 / (1.0 + 2.0 ** (-w))

    def as_dict(self) -> dict:
        return {"m": self.m, "u": self.u, "prior": self.prior, "trained_on": self.trained_on}

    @classmethod
    def from_dict(cls, d: Mapping) -> "Model":
        """The model as_dict() wrote (stored in the database, shared by every worker)."""
        return cls(m={f: [float(x) for x in v] for f, v in d["m"].items()},
                   u={f: [float(x) for x in v] for f, v in d["u"].items()},
                   prior=float(d["prior"]), trained_on=dict(d.get("trained_on") or {}))


def block_keys(p: Person) -> list[str]:
    """Blocking keys: exact birth date, or (birth year, a phonetic word of the name).

    Splink's training rules block on the same keys; the worker's SQL (`service.find_candidates`) on the
    birth date, or the birth year + the probe's rarest word's key or its full-name key (plus NIK equality).
    """
    keys = ["d:" + p.birth_date.isoformat()]
    keys += [f"n:{p.birth_date.year}:{k}" for k in sorted(name_keys(p.name))]
    return keys


@dataclass(frozen=True)
class DemographicMatch:
    """A candidate found by demographics, with why."""

    other_id: str
    weight: float
    probability: float
    levels: dict
    weights: dict
    nik_collision: bool = False

    def as_dict(self) -> dict:
        return {"other_id": self.other_id, "weight": round(self.weight, 2),
                "probability": round(self.probability, 4), "levels": self.levels,
                "weights": {k: round(v, 2) for k, v in self.weights.items()},
                "nik_collision": self.nik_collision}


def match(probe: Person, candidates: Iterable[Person], *, model: Model, min_weight: float = 0.0,
          limit: int = 10) -> list[DemographicMatch]:
    """Score a probe against its blocked candidates; best first."""
    out = []
    for c in candidates:
        if c.id == probe.id:
            continue
        v = compare(probe, c)
        w = model.weights(v)
        total = sum(w.values())
        collision = c.nik == probe.nik
        if total >= min_weight or collision:
            out.append(DemographicMatch(c.id, total, model.probability(v), v, w, collision))
    out.sort(key=lambda d: (not d.nik_collision, -d.weight))
    return out[:limit]
