"""Finger index hit rate by which fingers are indexed (issue 15): four, the best two, the thumbs.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_index_hits.py [--size 20000] [--dups 150]
         [--configs thumbs] [--recapture 1,6 [--legacy-gallery]]

Population and probes are bench/abis_national.py's (through bench/abis_cpu.build: same generator, same
seed). For each configuration a `Gallery` in process is built from the same enrolments; every
finger-only and both-kind duplicate (2·dups probes) searches the finger index alone, and the mate's rank
among every reference the index relates to the probe (by summed LSH score) gives the hit rate at the
candidate cap (top 50) and at penetration 1 / 5 / 10 %. Also printed: insert CPU per identity, the
gallery's phase-1 CPU for a probe's fingers (`phase1_fingers_cpu_ms`: both indexes, lookups included),
each index's search with every related reference ranked in Python (`*_search_and_rank_all_cpu_ms`: the
ranking, not the search, dominates at 100,000), and the index's bytes per identity (after merging its
segments); the same for the triangle index of the thumbs (fingerprint/triangles.py) and the hit rate of
the two lists the gallery
proposes together (the LSH's top 50 or the triangles' top 10: `hit_union`), also projected to 1M (rank r
here is r × 1M / N there: `hit_union_projected_1M`, `hit_top50_projected_1M`), and the union projected to
1M with a longer triangles' list (`hit_union_projected_1M_by_triangle_list`: 10 to 100), and for each
probe both lists miss at 1M, the mate's ranks and each indexed finger's minutiae and 1:1 z
(`missed_projected_1M`).
Configurations: thumbs and index fingers (1, 2, 6, 7; the default), the best two of those per identity
(`indexed_per_identity=2`: most valid cylinders), the two thumbs (1, 6). `--recapture 1,6`: every capture
of those positions held to the office's rule (bench/abis_national.py RECAPTURE); with `--legacy-gallery`
only the probes are (a gallery enrolled before the rule).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

CONFIGS = {"thumbs_and_index_fingers": {"indexed_positions": (1, 2, 6, 7), "indexed_per_identity": None},
           "best_2_of_those": {"indexed_positions": (1, 2, 6, 7), "indexed_per_identity": 2},
           "thumbs": {"indexed_positions": (1, 6), "indexed_per_identity": None}}
TRIANGLE_LISTS = (10, 20, 30, 50, 100)  # triangles' list lengths whose projected union hit rate is printed


def mate_ranks(scores_of, probes: list, n: int) -> tuple[list[int], float]:  # noqa: ANN001
    """Each probe's mate's rank by one index's scores (n: never met), and the search CPU ms a probe."""
    from ktpel.biometrics import gallery as g

    ranks = []
    c0 = time.process_time()
    for mate, probe in probes:
        _, fingers = g._split(probe)
        order = [ref for _, ref in g.merge_top(scores_of(fingers).items(), n)]
        ranks.append(order.index(mate) if mate in order else n)
    return ranks, (time.process_time() - c0) * 1000 / len(probes)


def missed_detail(gal, probe: list, mate: list, *, lsh: int, triangles: int, positions) -> dict:  # noqa: ANN001
    """Why an indexed finger missed its mate: the mate's rank in each list, and per indexed position the
    minutiae of the probe's finger and the mate's, and their 1:1 score (z): a finger the matcher still
    recognises 1:1 is the index's miss; one it does not is the capture's."""
    from ktpel.biometrics import gallery as g

    _, fingers = g._split(probe)
    _, theirs = g._split(mate)
    cal = gal.engine.calibration
    by = {f.finger_position: f for f in theirs}
    per = {}
    for f in fingers:
        other = by.get(f.finger_position)
        if f.finger_position in positions and other is not None:
            per[f.finger_position] = {"minutiae": [len(f.minutiae), len(other.minutiae)],
                                      "z": round(cal.normalise("finger", gal.engine.compare_fingers(f, other)), 1)}
    return {"lsh_rank": lsh, "triangle_rank": triangles, "fingers": per}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--dups", type=int, default=150, help="planted duplicates of each kind")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"which of {', '.join(CONFIGS)}")
    ap.add_argument("--recapture", default="", help="positions whose poor captures are taken again, e.g. 1,6 "
                                                    "(bench/abis_national.py RECAPTURE); default none")
    ap.add_argument("--legacy-gallery", action="store_true",
                    help="with --recapture: the gallery enrolled before the rule, only the probes held to it")
    a = ap.parse_args()
    from bench import abis_cpu, abis_national as nat
    from ktpel.biometrics import gallery as g

    nat.RECAPTURE = tuple(int(x) for x in a.recapture.split(",") if x)
    _, _, enrol, kinds = abis_cpu.build(a.size, 10, a.dups, a.seed, legacy_gallery=a.legacy_gallery)
    if nat.RECAPTURE:
        print(json.dumps({"recapture": list(nat.RECAPTURE), "legacy_gallery": a.legacy_gallery,
                          "below_minutiae": nat.RECAPTURE_MINUTIAE,
                          "attempts": nat.RECAPTURE_ATTEMPTS, **nat.RECAPTURED}), flush=True)
    probes = [(mate, g.parse_probe(abis_cpu.fresh(t))) for kind in ("finger_only", "both") for mate, t in kinds[kind]]
    for name in a.configs.split(","):
        kw = CONFIGS[name]
        gal = g.Gallery(**kw)
        c0 = time.process_time()
        for i, t in enumerate(enrol):
            gal.insert(f"I{i:08d}", t)
        insert_ms = (time.process_time() - c0) * 1000 / len(enrol)
        # what the gallery's phase 1 costs for these fingers (both indexes, the probe's lookups included):
        # the mate_ranks times below also rank every reference the index relates, in Python
        # (fresh objects each configuration: a finger caches its lookups)
        finger_probes = [g.parse_probe(abis_cpu.fresh([t for t in p if t.modality == "finger"])) for _, p in probes]
        gal.candidates(g.parse_probe(abis_cpu.fresh(finger_probes[0])))  # kernels loaded outside the clock
        c0 = time.process_time()
        for probe in finger_probes:
            gal.candidates(probe)
        phase1_ms = (time.process_time() - c0) * 1000 / len(finger_probes)
        ranks, search_ms = mate_ranks(gal.finger_scores, probes, len(enrol))
        tri_ranks, tri_ms = mate_ranks(gal.triangle_scores, probes, len(enrol))
        for idx in [*gal._finger_index.values(), *gal._triangle_index.values()]:
            idx.compact()
        r, rt = np.array(ranks), np.array(tri_ranks)
        # rank r here is r × 1M / N at 1M (as bench/abis_index_sweep.py projects)
        r1m, rt1m = r * 1e6 / len(enrol), rt * 1e6 / len(enrol)
        missed = (r1m >= g.CANDIDATES) & (rt1m >= g.TRIANGLE_CANDIDATES)
        print(json.dumps({"indexed": name, **{k: v for k, v in kw.items() if v is not None}, "identities": len(enrol),
                          "probes": len(r), "insert_cpu_ms": round(insert_ms, 2),
                          "phase1_fingers_cpu_ms": round(phase1_ms, 1), "search_and_rank_all_cpu_ms": round(search_ms, 1),
                          "index_bytes_per_identity": gal.bytes_per_identity()["finger_index"],
                          "hit_top50": round(float((r < g.CANDIDATES).mean()), 4),
                          **{f"hit_{p}pct": round(float((r < max(1, len(enrol) * p // 100)).mean()), 4) for p in (1, 5, 10)},
                          "rank0": int((r == 0).sum()),
                          # the gallery proposes both lists: the LSH's top 50 and the triangles' top 10
                          "triangle_positions": list(gal.triangle_positions), "triangle_search_and_rank_all_cpu_ms": round(tri_ms, 1),
                          "triangle_bytes_per_identity": gal.bytes_per_identity()["finger_triangles"],
                          "hit_union": round(float(((r < g.CANDIDATES) | (rt < g.TRIANGLE_CANDIDATES)).mean()), 4),
                          "hit_union_projected_1M": round(float(((r1m < g.CANDIDATES)
                                                                 | (rt1m < g.TRIANGLE_CANDIDATES)).mean()), 4),
                          "hit_top50_projected_1M": round(float((r1m < g.CANDIDATES).mean()), 4),
                          # what a longer triangles' list would find at 1M (each entry costs a 1:1 score)
                          "hit_union_projected_1M_by_triangle_list": {
                              t: round(float(((r1m < g.CANDIDATES) | (rt1m < t)).mean()), 4) for t in TRIANGLE_LISTS},
                          "missed_projected_1M": [missed_detail(gal, probe, enrol[int(mate[1:])], lsh=int(ranks[k]),
                                                                triangles=int(tri_ranks[k]), positions=kw["indexed_positions"])
                                                  for k, (mate, probe) in enumerate(probes) if missed[k]]}),
              flush=True)


if __name__ == "__main__":
    main()
