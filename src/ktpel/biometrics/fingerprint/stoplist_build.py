"""Measure the finger indexes' stop lists (stoplist.py) and write stop_keys.npz.

Run: .venv/bin/python -m ktpel.biometrics.fingerprint.stoplist_build ../shared/data/fingerprints
         [--fingers 20000]

The reference population: REFERENCE_FINGERS synthetic fingers (synthetic.py) on the orientation fields and
minutiae maps of the two FVC sets' 160 impressions, with a fixed seed, so the list is reproducible. A key
goes on an index's list when its bucket there holds more than that index's FACTOR times the mean bucket.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np

from ktpel.biometrics.fingerprint import index as ix
from ktpel.biometrics.fingerprint import stoplist
from ktpel.biometrics.fingerprint import triangles as tri

REFERENCE_FINGERS = 20_000
LSH_FACTOR = 20
TRIANGLE_FACTOR = 10
SEED = 2026_12_04
SETS = ("FVC2002_DB1_B", "FVC2000_DB4_B")


def measure(fingers: list[np.ndarray], *, progress: Callable[[], None] | None = None,
            lsh_factor: float = LSH_FACTOR, triangle_factor: float = TRIANGLE_FACTOR) -> dict[str, np.ndarray]:
    """Both stop lists from a population's minutiae (its keys before any stop list applies)."""
    lsh, triangles = [], []
    tables = np.arange(ix.TABLES, dtype=np.uint32) << np.uint32(ix.HASH_BITS)
    for m in fingers:
        keys = ix.hash_keys(ix.cylinder_bits(m))
        lsh.append((tables | keys)[keys != 0])
        triangles.append(tri.raw_finger_triangles(m)[0])
        if progress is not None:
            progress()
    return {"lsh": stoplist.hot(np.concatenate(lsh), factor=lsh_factor), "lsh_signature": ix.stop_signature(),
            "triangles": stoplist.hot(np.concatenate(triangles), factor=triangle_factor),
            "triangles_signature": tri.stop_signature()}


def reference_fingers(fingerprints: Path, *, n: int, seed: int = SEED) -> list[np.ndarray]:
    """n synthetic fingers on the two FVC sets' fields and minutiae maps (deterministic for a seed)."""
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.fingerprint import synthetic as syn

    engine = get_engine()
    real = [engine.extract_finger(p.read_bytes()) for base in SETS for p in sorted((fingerprints / base).glob("*.tif"))]
    if not real:
        raise SystemExit(f"no FVC impressions under {fingerprints} ({', '.join(SETS)})")
    bank = syn.FieldBank.from_templates(real)
    rng = np.random.default_rng(seed)
    return [t.minutiae for t in syn.impress(bank, syn.make_masters(bank, rng, n), rng)]


def main() -> None:
    from rich.progress import Progress

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fingerprints", type=Path, help="the FVC sets' folder, e.g. ../shared/data/fingerprints")
    ap.add_argument("--fingers", type=int, default=REFERENCE_FINGERS)
    ap.add_argument("--out", type=Path, default=stoplist.STOP_FILE)
    # other bars, for a comparison (bench/abis_triangle_index.py --stop-file): the shipped file keeps the defaults
    ap.add_argument("--lsh-factor", type=float, default=LSH_FACTOR)
    ap.add_argument("--triangle-factor", type=float, default=TRIANGLE_FACTOR)
    a = ap.parse_args()
    fingers = reference_fingers(a.fingerprints, n=a.fingers)
    with Progress() as bar:
        task = bar.add_task("keys", total=len(fingers))
        lists = measure(fingers, progress=lambda: bar.advance(task), lsh_factor=a.lsh_factor,
                        triangle_factor=a.triangle_factor)
    np.savez(a.out, **lists)
    print(f"{a.out}: {lists['lsh'].size} LSH codes, {lists['triangles'].size} triangle keys "
          f"from {len(fingers)} synthetic fingers")


if __name__ == "__main__":
    main()
