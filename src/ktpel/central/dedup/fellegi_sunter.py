"""Fellegi–Sunter record linkage (pure): comparison vectors, m/u by EM, match weights that explain.

Each field comparison falls into a level (0 = disagree … k = exact). For a pair, the match weight is
Σ log2(m_l / u_l) over fields, with m_l = P(level | same person) and u_l = P(level | different people).
u is estimated from random pairs (almost all random pairs are different people); m and the prior λ by
EM over the blocked candidate pairs, u held fixed — the same scheme Splink uses. The result explains
a candidate (which fields agree, how much each weighs) and prioritises adjudication; it never
rejects anyone on its own.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Iterable, Mapping, Sequence

from ktpel.central.dedup.phonetic import name_keys, normalise_name

# field -> number of levels (level 0 = disagree, highest = exact)
FIELDS: dict[str, int] = {
    "name": 4,  # 0 differ, 1 shares a phonetic word, 2 similar (ratio ≥ .85), 3 exact
    "birth_date": 3,  # 0 differ, 1 one of day/month/year differs or day/month swapped, 2 exact
    "birth_place": 3,  # 0 differ, 1 phonetic equal, 2 exact
    "sex": 2,
    "father_name": 3,  # 0 differ, 1 phonetic/similar, 2 exact  (missing on either side: not counted)
    "mother_name": 3,
    "address": 4,  # 0 other village, 1 same district, 2 same village, 3 same village + similar street
}
# weak but reasonable starting points (m for the top level; the rest share what is left)
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


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def _name_level(a: str, b: str, *, levels: int) -> int | None:
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return None
    if na == nb:
        return levels - 1
    if levels == 4 and _similar(na, nb) >= 0.85:
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
            out["address"] = 3 if _similar(a.street.lower(), b.street.lower()) >= 0.8 else 2
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


def _estimate_u(people: Sequence[Person], *, samples: int, rng: random.Random) -> dict[str, list[float]]:
    counts = {f: [1.0] * k for f, k in FIELDS.items()}  # add-one smoothing
    n = len(people)
    for _ in range(samples):
        a, b = people[rng.randrange(n)], people[rng.randrange(n)]
        if a.id == b.id:
            continue
        for f, lv in compare(a, b).items():
            counts[f][lv] += 1
    return {f: [c / sum(cs) for c in cs] for f, cs in counts.items()}


def train(people: Sequence[Person], pairs: Iterable[tuple[Person, Person]], *, iterations: int = 20,
          u_samples: int = 20000, seed: int = 7) -> Model:
    """u from random pairs, then m and λ by EM over the blocked candidate pairs."""
    model = Model.default()
    if len(people) < 50:
        return model  # too few records: keep the priors rather than fit noise
    rng = random.Random(seed)
    model.u = _estimate_u(people, samples=u_samples, rng=rng)
    vectors = [compare(a, b) for a, b in pairs]
    if len(vectors) < 20:
        model.trained_on = {"records": len(people), "pairs": len(vectors), "em": False}
        return model
    for _ in range(iterations):
        mc = {f: [0.5] * k for f, k in FIELDS.items()}  # light smoothing keeps m off zero
        total_p = 0.0
        logit_prior = math.log2(model.prior / (1 - model.prior))
        for v in vectors:
            w = model.score(v) + logit_prior
            p = 1.0 / (1.0 + 2.0 ** (-max(min(w, 60), -60)))
            total_p += p
            for f, lv in v.items():
                mc[f][lv] += p
        model.m = {f: [c / sum(cs) for c in cs] for f, cs in mc.items()}
        model.prior = min(max(total_p / len(vectors), 1e-6), 0.5)
    model.trained_on = {"records": len(people), "pairs": len(vectors), "em": True, "iterations": iterations}
    return model


def block_key_birth(p: Person) -> str:
    return p.birth_date.isoformat()


def block_keys(p: Person) -> list[str]:
    """Blocking keys: exact birth date, or (birth year, a phonetic word of the name)."""
    keys = ["d:" + p.birth_date.isoformat()]
    keys += [f"n:{p.birth_date.year}:{k}" for k in sorted(name_keys(p.name))]
    return keys


def blocked_pairs(people: Sequence[Person], *, max_block: int = 200) -> list[tuple[Person, Person]]:
    """Candidate pairs sharing a blocking key (oversized blocks are skipped: they say nothing)."""
    blocks: dict[str, list[Person]] = {}
    for p in people:
        for k in block_keys(p):
            blocks.setdefault(k, []).append(p)
    seen: set[tuple[str, str]] = set()
    out = []
    for members in blocks.values():
        if len(members) > max_block:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                key = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if key not in seen:
                    seen.add(key)
                    out.append((a, b))
    return out


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
