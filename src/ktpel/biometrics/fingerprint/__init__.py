"""Fingerprint extraction and matching behind the FingerprintModel interface."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ktpel.biometrics.templates import FingerTemplate


class FingerprintModel(Protocol):
    """What any fingerprint algorithm must offer the engine."""

    model_id: str

    def extract(self, gray: np.ndarray) -> FingerTemplate:
        """500 ppi greyscale image → template (raises BiometricError subclasses)."""

    def compare(self, a: FingerTemplate, b: FingerTemplate) -> float:
        """Raw similarity, higher = more alike, 0 = nothing in common."""


class MindtctMccModel:
    """Gabor enhancement + NBIS MINDTCT minutiae + the MCC-style consolidating matcher."""

    model_id = "ktpel-mindtct-mcc-1"

    def extract(self, gray: np.ndarray) -> FingerTemplate:
        from ktpel.biometrics.fingerprint.extract import extract

        return extract(gray)

    def compare(self, a: FingerTemplate, b: FingerTemplate) -> float:
        from ktpel.biometrics.fingerprint.mcc import match

        return match(a.features, b.features)
