"""A second finger index beside the MCC-LSH, measured: minutia-triangle geometric hashing (after Germain,
Califano & Colville, "Fingerprint matching using transformation parameter clustering", IEEE CSE 1997,
and Bhanu & Tan, "Fingerprint indexing based on novel features of minutiae triplets", IEEE TPAMI 2003).
Issue 15: "finger-only ≥ 99 % at 1M with 2 fingers indexed"; run G found no LSH setting that closes it.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_triangle_index.py [--size 10000] [--probes 300]
         [--set K=7,DL=0.3] [--no-stop-list | --stop-file FILE]

The index measured is the gallery's own (ktpel.biometrics.fingerprint.triangles; --set overrides its
constants for the run). How the triangles index a finger:
1. Triangles: each minutia with every pair of its K nearest neighbours; sides within [LMIN, LMAX] px.
2. Invariants (rotation and translation free): vertices counter-clockwise from the one facing the longest
   side (a near tie, within TIE px, is also probed with the other labelling); the three sides (LW px
   bins) and each vertex's direction against the longest side (AB bins): one key of 6 numbers.
3. A probe looks up its key and, per number near a bin edge (within DL / DA of a bin), the neighbour bin
   too: a mated triangle whose side or angle crossed an edge still meets its partner.
4. Postings carry the triangle's pose (its longest side's direction and its centroid); a match votes
   for (owner, the rotation and translation that carry the gallery triangle onto the probe's), once
   per probe triangle, and an owner's score is its fullest pose cell (RB rotation bins × TR px): a
   mate's triangles agree on one pose, chance collisions scatter (geometric hashing's Hough step).
Population and LSH exactly as bench/abis_index_sweep.py (same generator; thumbs 1 and 6). Printed: the
mate in the top 50 projected to 1M (rank r here is r × 1M / size there, as in that bench) per thumb and
summed, for the LSH, the triangles, and the gallery's union (the mate in the LSH's top CANDIDATES or the
triangles' top TRIANGLE_CANDIDATES, projected alike); the median votes of the mate and of the best
stranger (the triangles' margin); insert and search CPU.
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

from bench import abis_index_sweep as sw  # noqa: E402
from ktpel.biometrics.fingerprint import triangles as tri  # noqa: E402

KNOBS = ("K", "LMIN", "LMAX", "LW", "AB", "DL", "DA", "TIE", "RB", "TR", "MIN_VOTES")


def build(minutiae: list[np.ndarray]) -> tri.TriangleIndex:
    idx = tri.TriangleIndex()
    for owner, m in enumerate(minutiae):
        idx.add(owner, *tri.finger_triangles(m))
    idx.compact()
    return idx


def votes_of(idx: tri.TriangleIndex, minutiae: np.ndarray, size: int) -> np.ndarray:
    owners, votes = idx.search(tri.probe_triangles(minutiae))
    out = np.zeros(size)
    out[owners] = votes
    return out


def rank_of(score: np.ndarray, mate: int) -> int:
    return int((score > score[mate]).sum()) if score[mate] > 0 else len(score)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--set", default="", help="overrides of triangles.py's constants, e.g. K=5,RB=16")
    ap.add_argument("--no-stop-list", action="store_true", help="neither index leaves out its stop-listed keys")
    ap.add_argument("--stop-file", type=Path, help="stop lists measured at other bars (stoplist_build --out, "
                                                    "--lsh-factor, --triangle-factor) instead of the shipped ones")
    a = ap.parse_args()
    for kv in filter(None, a.set.split(",")):
        k, v = kv.split("=")
        if k not in KNOBS:
            raise SystemExit(f"--set: {k} is not one of {', '.join(KNOBS)}")
        setattr(tri, k, type(getattr(tri, k))(v))
    if a.stop_file:
        from ktpel.biometrics.fingerprint import stoplist

        stoplist.STOP_FILE = a.stop_file
        stoplist._shipped.cache_clear()
    if a.no_stop_list:  # the baseline: every key stored and looked up, in both indexes
        from ktpel.biometrics.fingerprint import stoplist

        stoplist._shipped = lambda: {}
    size = a.size
    t0 = time.time()
    enrolled, probe, _ = sw.population(size, a.probes, positions=sw.THUMBS)
    sw.configure({})
    lsh = {p: sw.build(enrolled[p]) for p in sw.THUMBS}
    c0 = time.process_time()
    triangles = {p: build(enrolled[p]) for p in sw.THUMBS}
    insert_ms = (time.process_time() - c0) * 1000 / (size * len(sw.THUMBS))
    print(json.dumps({"identities": size, "probes": a.probes, **{k: getattr(tri, k) for k in KNOBS},
                      "stop_list": not a.no_stop_list, "setup_s": round(time.time() - t0), "triangle_insert_cpu_ms_per_finger": round(insert_ms, 2),
                      "triangle_postings_per_finger": round(triangles[1].postings() / size, 1),
                      "triangle_bytes_per_finger": round(triangles[1].nbytes() / size)}), flush=True)
    from ktpel.biometrics.fingerprint import index as ix

    from ktpel.biometrics import gallery as g

    rows, margin = [], []
    ct = cl = 0.0
    for mate, fingers in probe.items():
        tl, tt, r = np.zeros(size), np.zeros(size), {}
        for p in sw.THUMBS:
            c0 = time.process_time()
            o, s = lsh[p].search(ix.probe_keys(fingers[p]))
            c1 = time.process_time()
            b = np.zeros(size)
            np.maximum.at(b, o, s)
            ts = votes_of(triangles[p], fingers[p], size)
            ct += time.process_time() - c1
            cl += c1 - c0
            r[f"lsh_{p}"], r[f"triangles_{p}"] = rank_of(b, mate), rank_of(ts, mate)
            tl += b
            tt += ts
        r["lsh"], r["triangles"] = rank_of(tl, mate), rank_of(tt, mate)
        margin.append((tt[mate], np.delete(tt, mate).max()))
        rows.append(r)
    scale = 1_000_000 / size
    out = {"lsh_search_cpu_ms": round(cl * 1000 / len(rows), 1), "triangle_search_cpu_ms": round(ct * 1000 / len(rows), 1)}
    for key in rows[0]:
        ranks = np.array([x[key] for x in rows])
        out[f"top50_projected_1M_{key}"] = round(float((ranks * scale < 50).mean()), 3)
    lsh_ranks, tri_ranks = (np.array([x[k] for x in rows]) for k in ("lsh", "triangles"))
    out["projected_1M_union"] = round(float(((lsh_ranks * scale < g.CANDIDATES)
                                             | (tri_ranks * scale < g.TRIANGLE_CANDIDATES)).mean()), 3)
    out["votes_median_mate"], out["votes_median_best_stranger"] = np.median(np.array(margin), axis=0).tolist()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
