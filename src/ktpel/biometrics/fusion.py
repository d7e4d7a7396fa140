"""Per-modality score normalisation, fusion and decision bands, from the calibration file.

Each raw score s is mapped to z = -log10 FMR(s): the measured impostor survival function
(interpolated between stored quantiles, extrapolated past the largest impostor score with an
exponential tail fitted to the top of the impostor distribution), capped at Z_CAP.
Fusion is Fisher's method: with k modalities present and S = Σ z_i · ln 10, an impostor (whose
per-modality FMRs are independent uniform p-values) reaches S or more with probability
p = e^(-S) Σ_{j<k} S^j / j!, and the fused score is -log10 p. It is therefore itself on the
-log10 FMR scale, whatever the number of fingers, so one pair of band thresholds serves any
combination of modalities (a plain sum of z would inflate the FMR with every finger added).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources
from typing import Mapping

import numpy as np

Z_CAP = 12.0
THRESHOLDS_FILE = "thresholds.json"


class Band(str, Enum):
    """Decision band of a 1:N candidate (review = adjudication queue, never an auto-reject)."""

    NO_HIT = "no_hit"
    REVIEW = "review"
    HIT = "hit"


@dataclass(frozen=True)
class ModalityCalibration:
    """Impostor survival function of one modality's raw scores."""

    scores: np.ndarray  # increasing raw scores
    fmr: np.ndarray  # fraction of impostor scores ≥ scores[i] (decreasing)
    tail_s0: float
    tail_p0: float
    tail_beta: float

    @property
    def measured_z(self) -> float:
        """The largest z the impostor data measured (its smallest false-match rate): above it, z comes
        from the fitted tail, not from observed impostors."""
        return float(-np.log10(self.fmr[self.fmr > 0].min()))

    def z(self, raw: float) -> float:
        """-log10 of the impostor false-match rate at this raw score."""
        if raw <= self.scores[0]:
            return float(-np.log10(self.fmr[0]))
        if raw <= self.tail_s0:
            p = float(np.interp(raw, self.scores, self.fmr))
        else:
            p = self.tail_p0 * float(np.exp(-(raw - self.tail_s0) / self.tail_beta))
        return float(min(Z_CAP, -np.log10(max(p, 10.0**-Z_CAP))))


@dataclass(frozen=True)
class Calibration:
    """Everything decided from measured distributions: normalisers, 1:1 thresholds, bands."""

    modalities: Mapping[str, ModalityCalibration]
    verify_threshold: Mapping[str, float]  # raw score per modality at the verification FMR
    verify_z: float  # the same decision on the normalised scale
    review_z: float
    hit_z: float
    raw: dict

    def normalise(self, modality: str, raw: float) -> float:
        return self.modalities[modality].z(raw)

    def fuse(self, zs: Mapping[str, float]) -> float:
        """Fisher combination of the modalities' -log10 FMR into one -log10 FMR."""
        return fisher(list(zs.values()))

    def band(self, fused: float) -> Band:
        if fused >= self.hit_z:
            return Band.HIT
        if fused >= self.review_z:
            return Band.REVIEW
        return Band.NO_HIT


def fisher(zs: list[float]) -> float:
    """-log10 of P(Σ -ln U_i ≥ Σ z_i ln 10) for k independent uniforms (Gamma(k, 1) tail)."""
    k = len(zs)
    if k == 0:
        return 0.0
    s = max(sum(zs), 0.0) * math.log(10)
    if s == 0.0:
        return 0.0
    terms = [j * math.log(s) - math.lgamma(j + 1) for j in range(k)]
    m = max(terms)
    log_p = -s + m + math.log(sum(math.exp(t - m) for t in terms))
    return float(max(0.0, -log_p / math.log(10)))


def survival_table(impostor: np.ndarray, *, points: int = 200) -> dict:
    """Quantile table and exponential tail of an impostor score sample, as stored in the JSON."""
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    n = len(imp)
    qs = np.unique(np.quantile(imp, np.linspace(0, 1, points)))
    fmr = [(imp >= q).sum() / n for q in qs]
    top = imp[int(0.9 * n) :]
    s0 = float(top[0])
    beta = float(max(np.mean(top - s0), 1e-6))
    return {"scores": qs.tolist(), "fmr": [float(f) for f in fmr], "tail_s0": s0,
            "tail_p0": float((imp >= s0).sum() / n), "tail_beta": beta}


def _from_dict(d: dict) -> Calibration:
    mods = {}
    for name, t in d["normalisation"].items():
        mods[name] = ModalityCalibration(np.asarray(t["scores"]), np.asarray(t["fmr"]), t["tail_s0"],
                                         t["tail_p0"], t["tail_beta"])
    verify = {m: float(v["threshold"]) for m, v in d["verify"].items()}
    return Calibration(mods, verify, float(d["verify_z"]), float(d["bands"]["review_z"]),
                       float(d["bands"]["hit_z"]), d)


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    """The calibration shipped in the package (written by bench/bio_calibrate.py)."""
    text = resources.files("ktpel.biometrics").joinpath(THRESHOLDS_FILE).read_text(encoding="utf-8")
    return _from_dict(json.loads(text))
