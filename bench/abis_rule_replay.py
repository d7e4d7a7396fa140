"""Replay the decide stage's rule on dumped candidates with other corroboration floors (issue 15, FPIR).

Run: .venv/bin/python bench/abis_rule_replay.py DUMP.jsonl --size N [--floors 2,3,4,5,6] [--fvc]

DUMP.jsonl comes from `bench/abis_national.py` or `bench/abis_million.py --dump-candidates DUMP.jsonl`
(every probe's candidates with their per-modality z). For each floor of `conflict.CORROBORATION_Z` this
prints the unique people sent to a person (FPIR) and the planted duplicates found (a mate that itself
reaches a person), computed by `conflict.person_reason` exactly as the bench and the pipeline's decide
stage do, for a gallery of `--size`.
It also prints how far above any floor the mates' other fingers fuse (the best finger left out), and with
`--fvc` the same for real fingers: every pair of impressions of four FVC fingers (101–104 and 105–108 of
each set in ../shared/data), what a real duplicate's fingers give.
A floor chosen on one dump should be checked on another population's (another `--seed`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def others_fused(normalised: dict[str, float], *, fuse) -> float | None:  # noqa: ANN001
    """The fingers other than the best, fused (what corroborates the best); None with one finger."""
    from ktpel.central.pipeline.conflict import best_finger

    found = best_finger(normalised, fuse=fuse)
    return None if found is None else found[1]


def replay(rows: list[dict], *, size: int, floors: list[float]) -> list[dict]:
    from ktpel.biometrics import get_engine
    from ktpel.central.pipeline import conflict

    cal = get_engine().calibration
    kw = dict(fuse=cal.fuse, review_z=cal.review_z, hit_z=cal.hit_z, gallery_size=size,
              finger_measured_z=cal.modalities["finger"].measured_z)
    kept = conflict.CORROBORATION_Z
    out = []
    try:
        for floor in floors:
            conflict.CORROBORATION_Z = floor
            res = {"floor": floor, "unique": [0, 0], "finger_only": [0, 0], "face_only": [0, 0], "both": [0, 0]}
            for r in rows:
                sent = [c["ref"] for c in r["candidates"]
                        if conflict.person_reason(c["normalised"], fused=c["fused"], **kw)[0] is not None]
                res[r["kind"]][1] += 1
                res[r["kind"]][0] += bool(sent) if r["target"] is None else r["target"] in sent
            out.append(res)
    finally:
        conflict.CORROBORATION_Z = kept
    return out


def mates_margin(rows: list[dict]) -> dict:
    from ktpel.biometrics import get_engine

    fuse = get_engine().calibration.fuse
    by: dict[str, list[float]] = {}
    for r in rows:
        mate = [c for c in r["candidates"] if r["target"] and c["ref"] == r["target"]]
        if mate and r["kind"] != "face_only":
            z = others_fused(mate[0]["normalised"], fuse=fuse)
            if z is not None:
                by.setdefault(r["kind"], []).append(z)
    return {k: {"mates": len(v), "min": round(min(v), 2), "p1": round(float(np.percentile(v, 1)), 2)}
            for k, v in by.items()}


def fvc_margin(shared: Path) -> dict:
    """Every pair of impressions of four real fingers: the other fingers fused, best left out."""
    from ktpel.biometrics import get_engine

    eng = get_engine()
    cal = eng.calibration
    zs = []
    for s in ("FVC2002_DB1_B", "FVC2000_DB4_B"):
        t = {(f, i): eng.extract_finger((shared / "fingerprints" / s / f"{f}_{i}.tif").read_bytes(),
                                        finger_position=(f - 101) % 4 + 1)
             for f in range(101, 109) for i in range(1, 9)}
        for person in ((101, 102, 103, 104), (105, 106, 107, 108)):
            for i, j in itertools.combinations(range(1, 9), 2):
                z = {f"finger_{k}": cal.normalise("finger", eng.compare_fingers(t[(f, i)], t[(f, j)]))
                     for k, f in enumerate(person, 1)}
                zs.append(others_fused(z, fuse=cal.fuse))
    return {"pairs": len(zs), "min": round(min(zs), 2), "p1": round(float(np.percentile(zs, 1)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dump", type=Path, nargs="+")
    ap.add_argument("--size", type=int, required=True, help="the gallery size the dump was searched in")
    ap.add_argument("--floors", default="2,3,4,5,6,8")
    ap.add_argument("--fvc", action="store_true", help="also the margin on real FVC fingers")
    a = ap.parse_args()
    floors = [float(x) for x in a.floors.split(",")]
    for path in a.dump:
        rows = [json.loads(line) for line in path.open(encoding="utf-8")]
        print(json.dumps({"dump": str(path), "probes": len(rows), "mates_other_fingers_fused": mates_margin(rows)}))
        for res in replay(rows, size=a.size, floors=floors):
            print(json.dumps(res))
    if a.fvc:
        from ktpel.config import Settings

        print(json.dumps({"fvc_other_fingers_fused": fvc_margin(Settings().resolved_shared_data())}))


if __name__ == "__main__":
    main()
