"""1:N benchmark on a synthetic gallery whose scores follow the distributions measured on ../shared/data.

Run: .venv/bin/python bench/bio_1n.py [--size 1000000] [--probes 300] [--nprobe 64]

How the synthetic identities are made (see docs/biometrics.md):
- face: each identity is a random unit vector in R^128 (SFace's dimension); a probe of identity i
  is normalise(x_i + σ·n), n standard normal per dimension scaled by 1/sqrt(128), with σ chosen so
  the expected genuine cosine equals the genuine mean measured on ORL (thresholds.json
  score_stats); random unit vectors give impostor cosines ≈ N(0, 1/128), close to ORL's impostors.
- fingerprints: two fingers per identity. Their raw 1:1 scores for a candidate are drawn from the
  measured genuine (mate) or impostor (non-mate) distribution, resampled from the survival table in
  thresholds.json; to keep latency honest, every candidate × finger also runs the real matcher on a
  real FVC template pair.
Search: FAISS IVF-Flat (inner product) over the face vectors gives CANDIDATES candidates, which are
then scored 1:1 (face cosine + 2 fingers), normalised, fused and banded exactly as Gallery.score.
Recall: for every probe an exhaustive (Flat) search runs in the same process; we print
(a) the share of exhaustive top-CANDIDATES found by IVF (on random vectors most of these are
noise-level impostors, the worst case), (a') the same restricted to the relevant ones (face cosine
at or above the FMR 1e-4 score, review level), (b) the share of probes whose exhaustive
best candidate is in IVF's candidates, (c) the share whose mate is ranked first after fusion.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--nprobe", type=int, default=512)
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    faiss.omp_set_num_threads(a.threads)
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.evaluate import finger_files

    eng = get_engine()
    cal = eng.calibration
    stats = cal.raw["score_stats"]
    rng = np.random.default_rng(7)
    dim, n = 128, a.size
    t0 = time.perf_counter()
    gal = rng.standard_normal((n, dim), dtype=np.float32)
    gal /= np.linalg.norm(gal, axis=1, keepdims=True)
    mu = stats["face"]["genuine_mean"]
    sigma = float(np.sqrt(1 / mu**2 - 1))
    mates = rng.choice(n, a.probes, replace=False)
    probes = gal[mates] + sigma * rng.standard_normal((a.probes, dim), dtype=np.float32) / np.sqrt(dim)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    nlist = max(16, int(4 * np.sqrt(n)))
    quant = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quant, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    train = gal[rng.choice(n, min(n, 40 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(gal)
    ivf.nprobe = a.nprobe
    flat = faiss.IndexFlatIP(dim)
    flat.add(gal)
    build_s = time.perf_counter() - t0
    fin = eng.calibration.modalities["finger"]
    imp_pool = np.interp(rng.uniform(0, 1, 200_000), fin.fmr[::-1], fin.scores[::-1])
    gen_sd, gen_mu = stats["finger"]["genuine_std"], stats["finger"]["genuine_mean"]
    files = finger_files(DATA / "fingerprints" / "FVC2002_DB1_B")[:16]
    real = [eng.extract_finger(p.read_bytes()) for _, p in files]
    lat, overlap, best_in, mate_first, mate_band, rel_found = [], [], [], [], [], []
    face_tab = cal.modalities["face"]
    face_relevant = float(np.interp(1e-4, face_tab.fmr[::-1], face_tab.scores[::-1]))  # review-level cosine
    cpu = []
    for q in range(a.probes):
        t1, c1 = time.perf_counter(), time.process_time()
        d, ids = ivf.search(probes[q : q + 1], a.candidates)
        fused = []
        for k, cid in enumerate(ids[0]):
            if cid < 0:
                continue
            z = {"face": cal.normalise("face", float(d[0, k]))}
            for f in range(2):
                eng.compare_fingers(real[(k + f) % 16], real[(k + f + 3) % 16])  # real matcher cost
                s = max(0.0, rng.normal(gen_mu, gen_sd)) if cid == mates[q] else float(rng.choice(imp_pool))
                z[f"finger_{f}"] = cal.normalise("finger", s)
            fused.append((cal.fuse(z), int(cid)))
        fused.sort(reverse=True)
        lat.append(time.perf_counter() - t1)
        cpu.append(time.process_time() - c1)
        exd, ex = flat.search(probes[q : q + 1], a.candidates)
        overlap.append(len(set(ex[0]) & set(ids[0])) / a.candidates)
        relevant = [int(c) for c, s in zip(ex[0], exd[0]) if s >= face_relevant]
        rel_found.extend(c in set(ids[0]) for c in relevant)
        best_in.append(ex[0][0] in set(ids[0]))
        mate_first.append(bool(fused) and fused[0][1] == mates[q])
        mate_band.append(str(cal.band(fused[0][0]).value) if fused else "no_hit")
    lat_ms = np.array(lat) * 1000
    out = {"gallery": n, "probes": a.probes, "index": f"IVF{nlist},Flat nprobe={a.nprobe}",
           "candidates": a.candidates, "threads": a.threads, "build_s": round(build_s, 1),
           "p50_ms": round(float(np.percentile(lat_ms, 50)), 2), "p95_ms": round(float(np.percentile(lat_ms, 95)), 2),
           "p95_cpu_ms": round(float(np.percentile(np.array(cpu) * 1000, 95)), 2),
           "load_avg_1min": round(__import__("os").getloadavg()[0], 2),
           "candidate_recall_vs_exhaustive": round(float(np.mean(overlap)), 4),
           "relevant_recall_vs_exhaustive": round(float(np.mean(rel_found)), 4) if rel_found else None,
           "relevant_definition": "exhaustive top candidates with face cosine >= %.3f (FMR 1e-4, review level)" % face_relevant,
           "exhaustive_best_in_candidates": round(float(np.mean(best_in)), 4),
           "mate_ranked_first": round(float(np.mean(mate_first)), 4),
           "mate_band_hit": round(float(np.mean([b == "hit" for b in mate_band])), 4),
           "memory_note": "gallery vectors float32: %.0f MiB per index copy" % (n * dim * 4 / 2**20)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
