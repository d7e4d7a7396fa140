"""A second finger index beside the MCC-LSH, measured: minutia-triangle geometric hashing (after Germain,
Califano & Colville, "Fingerprint matching using transformation parameter clustering", IEEE CSE 1997,
and Bhanu & Tan, "Fingerprint indexing based on novel features of minutiae triplets", IEEE TPAMI 2003).
Issue 15: "finger-only ≥ 99 % at 1M with 2 fingers indexed"; run G found no LSH setting that closes it.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_triangle_index.py [--size 10000] [--probes 300]
         [--set K=7,RB=32]

How the triangles index a finger (a prototype in NumPy: not in the gallery yet):
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
summed, for the LSH, the triangles, and both fused (each summed score over its probe's best, added).
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

P = dict(K=7, LMIN=12.0, LMAX=140.0, LW=8.0, AB=12, DL=0.3, DA=0.25, RB=32, TR=24.0, TIE=4.0)


def triangles(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 9) per triangle: sides l0 ≥ …, vertex directions b0..b2 against the longest side, that side's
    direction phi, centroid x, y; and which rows are the alternative labelling of a near tie."""
    m = np.asarray(m, np.float64)
    n = len(m)
    if n < 3:
        return np.zeros((0, 9)), np.zeros(0, bool)
    xy, th = m[:, :2], m[:, 2]
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    k = min(P["K"], n - 1)
    nn = np.argsort(d, axis=1)[:, :k]
    a, b = np.triu_indices(k, 1)
    t = np.unique(np.sort(np.column_stack([np.repeat(np.arange(n), len(a)), nn[:, a].ravel(), nn[:, b].ravel()]),
                          axis=1), axis=0)
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    cross = (xy[b, 0] - xy[a, 0]) * (xy[c, 1] - xy[a, 1]) - (xy[b, 1] - xy[a, 1]) * (xy[c, 0] - xy[a, 0])
    v = np.stack([a, np.where(cross < 0, c, b), np.where(cross < 0, b, c)], 1)  # counter-clockwise
    opp = np.stack([d[v[:, 1], v[:, 2]], d[v[:, 2], v[:, 0]], d[v[:, 0], v[:, 1]]], 1)
    ok = (opp.min(1) >= P["LMIN"]) & (opp.max(1) <= P["LMAX"])
    order = np.argsort(-opp, axis=1)
    rows = np.arange(len(opp))
    tie = opp[rows, order[:, 0]] - opp[rows, order[:, 1]] < P["TIE"]
    out, alt = [], []
    for start, sel in ((order[:, 0], rows), (order[:, 1], np.nonzero(tie)[0])):
        turn = (start[sel, None] + np.arange(3)) % 3
        vv, ll = np.take_along_axis(v[sel], turn, 1), np.take_along_axis(opp[sel], turn, 1)
        p1, p2 = xy[vv[:, 1]], xy[vv[:, 2]]
        phi = np.arctan2(p2[:, 1] - p1[:, 1], p2[:, 0] - p1[:, 0])
        beta = np.mod(th[vv] - phi[:, None], 2 * np.pi)
        out.append(np.column_stack([ll, beta, phi, xy[vv].mean(1)])[ok[sel]])
        alt.append(np.full(int(ok[sel].sum()), sel is not rows))
    return np.concatenate(out), np.concatenate(alt)


def _bins(f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lv = (f[:, :3] - P["LMIN"]) / P["LW"]
    av = f[:, 3:6] / (2 * np.pi / P["AB"])
    lb, ab = np.floor(lv), np.floor(av)
    return lb.astype(np.int64), lv - lb, ab.astype(np.int64) % P["AB"], av - ab


def _pack(lb: np.ndarray, ab: np.ndarray) -> np.ndarray:
    nl = int(np.ceil((P["LMAX"] - P["LMIN"]) / P["LW"])) + 2
    k = np.zeros(len(lb), np.int64)
    for j in range(3):
        k = k * nl + np.clip(lb[:, j], 0, nl - 1)
    for j in range(3):
        k = k * P["AB"] + ab[:, j]
    return k


def gallery_keys(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys of a finger's triangles (primary labelling only) and their pose (phi, x, y)."""
    f, alt = triangles(m)
    f = f[~alt]
    lb, _, ab, _ = _bins(f)
    return _pack(lb, ab), f[:, 6:9]


def probe_keys(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys of a probe's triangles with their bin-edge neighbours, the triangle of each key, and the poses."""
    f, _ = triangles(m)
    lb, lf, ab, af = _bins(f)
    keys, tid = [], []
    for t in range(len(f)):
        opts = []
        for j in range(3):
            near = -1 if lf[t, j] < P["DL"] else 1 if lf[t, j] > 1 - P["DL"] else 0
            opts.append([lb[t, j]] + ([lb[t, j] + near] if near else []))
        for j in range(3):
            near = -1 if af[t, j] < P["DA"] else 1 if af[t, j] > 1 - P["DA"] else 0
            opts.append([ab[t, j]] + ([(ab[t, j] + near) % P["AB"]] if near else []))
        combos = np.array(np.meshgrid(*opts, indexing="ij")).reshape(6, -1).T
        keys.append(_pack(combos[:, :3], combos[:, 3:]))
        tid.append(np.full(len(keys[-1]), t))
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), f[:, 6:9]
    return np.concatenate(keys), np.concatenate(tid), f[:, 6:9]


class TriIndex:
    """Sorted keys with their owner and pose: one position's triangles over the whole population."""

    def __init__(self, minutiae: list[np.ndarray]) -> None:
        got = [gallery_keys(m) for m in minutiae]
        k = np.concatenate([g[0] for g in got])
        order = np.argsort(k, kind="stable")
        self.keys = k[order]
        self.owner = np.repeat(np.arange(len(got)), [len(g[0]) for g in got])[order]
        self.pose = np.concatenate([g[1] for g in got])[order]
        self.n, self.postings = len(minutiae), len(k)

    def search(self, m: np.ndarray) -> np.ndarray:
        """Score of every owner: its most probe triangles agreeing on one pose (rotation RB bins,
        translation TR px bins; two grids half a bin apart so a pose on an edge is not split)."""
        pk, tid, pose = probe_keys(m)
        best = np.zeros(self.n)
        lo, hi = np.searchsorted(self.keys, pk, "left"), np.searchsorted(self.keys, pk, "right")
        cnt = hi - lo
        if cnt.sum() == 0:
            return best
        idx = np.repeat(lo - np.cumsum(np.r_[0, cnt[:-1]]), cnt) + np.arange(cnt.sum())
        t, owner, g = np.repeat(tid, cnt), self.owner[idx], self.pose[idx]
        dphi = pose[t, 0] - g[:, 0]
        c, s = np.cos(dphi), np.sin(dphi)
        tx = pose[t, 1] - (c * g[:, 1] - s * g[:, 2])
        ty = pose[t, 2] - (s * g[:, 1] + c * g[:, 2])
        for off in (0.0, 0.5):
            rr = np.floor(np.mod(dphi, 2 * np.pi) / (2 * np.pi / P["RB"]) + off).astype(np.int64) % P["RB"]
            bx = np.floor(tx / P["TR"] + off).astype(np.int64) + 64
            by = np.floor(ty / P["TR"] + off).astype(np.int64) + 64
            cell = ((owner * P["RB"] + rr) * 128 + bx) * 128 + by
            cells, votes = np.unique(np.unique(cell * 4096 + t) // 4096, return_counts=True)  # a vote per triangle
            np.maximum.at(best, cells // (P["RB"] * 128 * 128), votes)
        return best


def rank_of(score: np.ndarray, mate: int) -> int:
    return int((score > score[mate]).sum()) if score[mate] > 0 else len(score)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--set", default="", help="overrides of P, e.g. K=5,RB=16")
    a = ap.parse_args()
    for kv in filter(None, a.set.split(",")):
        k, v = kv.split("=")
        P[k] = type(P[k])(v)
    size = a.size
    t0 = time.time()
    enrolled, probe, _ = sw.population(size, a.probes, positions=sw.THUMBS)
    sw.configure({})
    lsh = {p: sw.build(enrolled[p]) for p in sw.THUMBS}
    tri = {p: TriIndex(enrolled[p]) for p in sw.THUMBS}
    print(json.dumps({"identities": size, "probes": a.probes, **P, "setup_s": round(time.time() - t0),
                      "triangle_postings_per_finger": round(tri[1].postings / size, 1)}), flush=True)
    from ktpel.biometrics.fingerprint import index as ix

    rows = []
    ct = cl = 0.0
    for mate, fingers in probe.items():
        tl, tt, r = np.zeros(size), np.zeros(size), {}
        for p in sw.THUMBS:
            c0 = time.process_time()
            o, s = lsh[p].search(ix.probe_keys(fingers[p]))
            c1 = time.process_time()
            b = np.zeros(size)
            np.maximum.at(b, o, s)
            ts = tri[p].search(fingers[p])
            ct += time.process_time() - c1
            cl += c1 - c0
            r[f"lsh_{p}"], r[f"triangles_{p}"] = rank_of(b, mate), rank_of(ts, mate)
            tl += b
            tt += ts
        r["lsh"], r["triangles"] = rank_of(tl, mate), rank_of(tt, mate)
        r["fused"] = rank_of(tl / (tl.max() + 1e-9) + tt / (tt.max() + 1e-9), mate)
        rows.append(r)
    scale = 1_000_000 / size
    out = {"lsh_search_cpu_ms": round(cl * 1000 / len(rows), 1), "triangle_search_cpu_ms": round(ct * 1000 / len(rows), 1)}
    for key in rows[0]:
        ranks = np.array([x[key] for x in rows])
        out[f"top50_projected_1M_{key}"] = round(float((ranks * scale < 50).mean()), 3)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
