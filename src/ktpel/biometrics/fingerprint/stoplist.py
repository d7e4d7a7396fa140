"""Stop lists of the two finger indexes: keys so common in fingerprints that their buckets identify no one.

A few keys (sparse cylinders in the LSH; small, regular triangles) collect a large share of all postings:
in the LSH the hottest 1 % of buckets held a quarter of them. Reading those buckets costs most of a
search and ranks no mate better, so neither index stores nor looks up a stop-listed key, as text
retrieval drops stop words.

The list is a fixed set of keys shipped with the package (`stop_keys.npz`), measured once on a reference
population of synthetic fingers (fingerprint/synthetic.py on the FVC sets' orientation fields and minutiae
maps in ../shared/data): every key whose bucket holds more than FACTOR times the mean bucket there. Being
fixed, it drops the same keys in every gallery and every shard, so a reference's score still depends on
the probe and its own postings alone and shards answer exactly like one gallery. (A rule relative to the
index's own mean bucket, used before, skipped different buckets in a shard than in one gallery: at 6,000
identities the candidate sets of 1 and 2 shards differed for every one of 140 probes.)

Each list records the index parameters its keys were made with (the index's `stop_signature()`); under
other parameters (a benchmark sweeping them) it does not apply. This module is a leaf (the indexes look
their lists up here); stoplist_build.py measures them: `.venv/bin/python -m
ktpel.biometrics.fingerprint.stoplist_build ../shared/data/fingerprints`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

STOP_FILE = Path(__file__).with_name("stop_keys.npz")
_NONE = np.zeros(0, np.uint32)


@functools.cache
def _shipped() -> dict[str, np.ndarray]:
    if not STOP_FILE.is_file():
        return {}
    with np.load(STOP_FILE) as d:
        return {k: d[k] for k in d.files}


def stop_codes(index: str, *, signature: np.ndarray) -> np.ndarray:
    """Sorted stop codes of an index ("lsh": table << HASH_BITS | key; "triangles": key), empty when
    none were measured under these parameters."""
    d = _shipped()
    if index not in d or not np.array_equal(d[f"{index}_signature"], signature):
        return _NONE
    return d[index]


def listed(codes: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Which codes are in the sorted stop list (bool, codes' shape)."""
    if not stop.size:
        return np.zeros(np.shape(codes), bool)
    at = np.minimum(np.searchsorted(stop, codes), stop.size - 1)
    return stop[at] == codes


def hot(codes: np.ndarray, *, factor: float) -> np.ndarray:
    """The distinct codes occurring more than `factor` times as often as the mean distinct code."""
    values, counts = np.unique(codes, return_counts=True)
    return values[counts > factor * counts.mean()].astype(np.uint32)
