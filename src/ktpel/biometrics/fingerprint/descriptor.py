"""Fixed-length, indexable fingerprint descriptor for 1:N candidate search.

Each minutia's cylinder (rotation- and translation-invariant) goes through a fixed random
feature map φ(c) = max(0, W·c - BIAS) (W Gaussian, seed fixed, so every installation computes the
same vectors); the descriptor is the L2-normalised sum over minutiae. The inner product of two
descriptors approximates the mean pairwise kernel between the two sets of cylinders, so prints
that share many local structures rank high. It needs no alignment and fits in a FAISS index;
candidates are then re-scored by the full 1:1 matcher.
"""

from __future__ import annotations

import numpy as np

from ktpel.biometrics.fingerprint.mcc import DIM, Features

DESCRIPTOR_DIM = 256
BIAS = 0.0
_SEED = 1_946_08_17
_W = (np.random.default_rng(_SEED).standard_normal((DIM, DESCRIPTOR_DIM)) / np.sqrt(DIM) * 4.0).astype(np.float32)


def descriptor(features: Features) -> np.ndarray:
    """Unit-norm float32 vector of length DESCRIPTOR_DIM."""
    if len(features.cyl) == 0:
        return np.zeros(DESCRIPTOR_DIM, np.float32)
    c = features.cyl - features.cyl.mean(axis=1, keepdims=True)  # drop the common all-cells component
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-6)
    phi = np.maximum(c @ _W - BIAS, 0.0)
    v = phi.sum(0)
    v = np.sqrt(v)  # power normalisation: damp features that many minutiae share
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)
