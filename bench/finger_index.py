"""Fingerprint indexing: hit rate at penetration 1 / 5 / 10 % of the MCC-LSH index (fingerprint/index.py)
and the triangle index (fingerprint/triangles.py) against the fixed-length descriptor the LSH replaced
(fingerprint/descriptor.py, same run, same galleries),
on FVC and on a synthetic population; and the check of the synthetic template generator.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/finger_index.py [--distractors 990] [--chart PATH]
         [--population 100000] [--probes 500] [--check-pairs 1500] [--skip-population]

1. FVC (../shared/data, 10 fingers × 8 impressions per set): for each set and each impression g,
   the gallery is impression g of the 10 fingers plus `--distractors` synthetic fingers (made by
   synthetic.py on the FVC sets' own orientation fields: harder distractors than unrelated
   fingers); probes are the other 7 impressions (560 searches per set). The mate's rank r among
   the gallery's N entries (ties count half, a mate the index never meets ranks last) gives the
   hit rate at penetration q: share of searches with r < q·N.
2. Synthetic population: `--population` identities with two fingers each (ISO positions 2 and 7,
   the index fingers), inserted into a real `Gallery` (indexed_positions=(2, 7)); probes are new
   impressions of `--probes` of them (fingers alone, no face). Figures: hit rate at 1/5/10 % for one
   finger and for the two fingers summed, mate among the top 50 candidates (the gallery's candidate
   list), candidates() and identify() latency p50/p95, insert rate, bytes per identity by part.
3. Generator check: impostor score rates at z ≥ 1/2/3 on the calibrated scale (ideal 10 / 1 /
   0.1 %) for synthetic-vs-synthetic, synthetic-vs-real and real-vs-real pairs; genuine raw
   scores of synthetic mates vs real FVC mates; generation speed (CPU time).
Latencies are wall time on a shared 2-core machine: compare the load average printed with them.
`--chart PATH` draws part 1 as a PNG: hit rate against penetration (0–20 %), a panel per FVC set.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT / ".." / "shared" / "data" / "fingerprints"
OUT = ROOT / "bench" / "out"
SETS = ("FVC2002_DB1_B", "FVC2000_DB4_B")
PENETRATION = (0.01, 0.05, 0.10)


def fvc_templates() -> dict[tuple[str, int, int], object]:
    """{(set, finger, impression): FingerTemplate}, extracted once and cached as KTPB bytes."""
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.templates import template_from_bytes

    cache = OUT / "fvc_templates.pkl"
    if cache.exists():
        raw = pickle.loads(cache.read_bytes())
    else:
        eng = get_engine()
        raw = {}
        for s in SETS:
            for p in sorted((DATA / s).glob("*.tif")):
                f, i = p.stem.split("_")
                raw[(s, int(f), int(i))] = eng.extract_finger(p.read_bytes()).to_bytes()
        OUT.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(raw))
    return {k: template_from_bytes(v) for k, v in raw.items()}


def rank_of(scores: np.ndarray, mate: int) -> float:
    """Mate's rank (0 = first); ties count half; a zero score (never met) ranks last."""
    if scores[mate] <= 0:
        return float(len(scores))
    return float((scores > scores[mate]).sum() + 0.5 * ((scores == scores[mate]).sum() - 1))


def hit_at(r: np.ndarray, n: int, q: float) -> float:
    """Share of searches whose mate ranks within penetration q of a gallery of n (at least rank 1)."""
    return float(np.mean(r < max(1, int(round(q * n)))))


def hit_rates(ranks: list[float], n: int) -> dict:
    r = np.asarray(ranks)
    out = {f"hit@{int(q * 100)}%": round(hit_at(r, n, q), 4) for q in PENETRATION}
    out["rank1"] = round(float(np.mean(r < 1)), 4)
    return out


CURVE = np.linspace(0.0, 0.2, 81)[1:]  # penetration 0.25 % … 20 %, for the chart
METHOD_LABELS = {"mcc_lsh": "MCC-LSH (indeks / index)", "triangles": "segitiga minusi / minutia triangles",
                 "descriptor": "deskriptor lama / old descriptor"}


def hit_curve(ranks: list[float], n: int) -> list[float]:
    r = np.asarray(ranks)
    return [hit_at(r, n, q) for q in CURVE]


def chart(rows: list[dict], curves: dict[tuple[str, str], list[float]], path: Path) -> Path:
    """Hit rate against penetration, one panel per FVC set, one line per method (bilingual labels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({r["set"] for r in rows})
    fig, axes = plt.subplots(1, len(sets), figsize=(5.2 * len(sets), 4.2), sharey=True, squeeze=False)
    for ax, s in zip(axes[0], sets):
        gallery = next(r["gallery"] for r in rows if r["set"] == s)
        for q in PENETRATION:
            ax.axvline(q * 100, color="0.85", lw=0.8, zorder=0)
        for r in (r for r in rows if r["set"] == s):
            ax.plot(CURVE * 100, curves[(s, r["method"])], label=METHOD_LABELS.get(r["method"], r["method"]))
        ax.set_title(f"{s} · galeri / gallery {gallery}")
        ax.set_xlabel("penetrasi / penetration (%)")
        ax.set_xlim(0, CURVE[-1] * 100)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("tingkat temu / hit rate")
    axes[0][0].set_ylim(0, 1.01)
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Indeks sidik jari: pasangan ditemukan dalam penetrasi / fingerprint index: mate found within penetration")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fvc_figures(templates: dict, distractors: list,
                curves: dict[tuple[str, str], list[float]] | None = None) -> list[dict]:
    from ktpel.biometrics.fingerprint.descriptor import descriptor
    from ktpel.biometrics.fingerprint import triangles as tri
    from ktpel.biometrics.fingerprint.index import FingerIndex, finger_keys, probe_keys

    d_keys = [finger_keys(t.minutiae) for t in distractors]
    d_tri = [tri.finger_triangles(t.minutiae) for t in distractors]
    d_desc = np.stack([descriptor(t.features) for t in distractors]) if distractors else np.zeros((0, 256))
    rows = []
    for s in SETS:
        fingers = sorted({f for (ss, f, _) in templates if ss == s})
        ranks: dict[str, list[float]] = {"mcc_lsh": [], "triangles": [], "descriptor": []}
        n = len(fingers) + len(distractors)
        for g in range(1, 9):
            idx = FingerIndex()
            for k, f in enumerate(fingers):
                idx.add(k, finger_keys(templates[(s, f, g)].minutiae))
            for k, key in enumerate(d_keys):
                idx.add(len(fingers) + k, key)
            tri_idx = tri.TriangleIndex()
            for k, f in enumerate(fingers):
                tri_idx.add(k, *tri.finger_triangles(templates[(s, f, g)].minutiae))
            for k, (keys, poses) in enumerate(d_tri):
                tri_idx.add(len(fingers) + k, keys, poses)
            desc = np.concatenate([np.stack([descriptor(templates[(s, f, g)].features) for f in fingers]), d_desc])
            for k, f in enumerate(fingers):
                for i in range(1, 9):
                    if i == g:
                        continue
                    t = templates[(s, f, i)]
                    owners, sc = idx.search(probe_keys(t.minutiae))
                    v = np.zeros(n)
                    v[owners] = sc
                    ranks["mcc_lsh"].append(rank_of(v, k))
                    owners, votes = tri_idx.search(tri.probe_triangles(t.minutiae))
                    v = np.zeros(n)
                    v[owners] = votes
                    ranks["triangles"].append(rank_of(v, k))
                    ranks["descriptor"].append(rank_of(desc @ descriptor(t.features) + 2.0, k))  # +2: all > 0
        for method, r in ranks.items():
            rows.append({"set": s, "method": method, "gallery": n, "searches": len(r), **hit_rates(r, n)})
            if curves is not None:
                curves[(s, method)] = hit_curve(r, n)
    return rows


def population_figures(bank, *, size: int, probes: int, seed: int = 11) -> dict:
    from ktpel.biometrics.fingerprint import synthetic as syn
    from ktpel.biometrics.gallery import Gallery

    rng = np.random.default_rng(seed)
    g = Gallery(indexed_positions=(2, 7))
    probe_sets: list[list] = []
    t_gen = t_ins = 0.0
    chunk = 2000
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        c0 = time.process_time()
        masters = [syn.make_masters(bank, rng, n) for _ in (2, 7)]
        enrol = [syn.impress(bank, m, rng) for m in masters]
        if start < probes:
            later = [syn.impress(bank, m, rng) for m in masters]
            for k in range(min(n, probes - start)):
                probe_sets.append([syn.with_position(later[0][k], 2), syn.with_position(later[1][k], 7)])
        c1 = time.process_time()
        for k in range(n):
            g.insert(f"S{start + k:07d}", [syn.with_position(enrol[0][k], 2), syn.with_position(enrol[1][k], 7)])
        t_gen += c1 - c0
        t_ins += time.process_time() - c1
    for idx in g._finger_index.values():
        idx.compact()
    one, two, top50, lat_c, lat_i = [], [], [], [], []
    refs = [f"S{k:07d}" for k in range(size)]
    for k, fingers in enumerate(probe_sets):
        mate = refs[k]
        w0 = time.perf_counter()
        cands = g.candidates(fingers)
        lat_c.append(time.perf_counter() - w0)
        top50.append(any(r == mate for _, r in cands.get("finger", [])))
        w0 = time.perf_counter()
        g.identify(fingers)
        lat_i.append(time.perf_counter() - w0)
        for out, fs in ((one, fingers[:1]), (two, fingers)):
            sc = g.finger_scores(fs)
            mine = sc.get(mate, 0.0)
            out.append(float(size) if mine <= 0 else
                       sum(v > mine for v in sc.values()) + 0.5 * (sum(v == mine for v in sc.values()) - 1))
    return {
        "identities": size, "probes": len(probe_sets), "fingers_per_identity": 2, "indexed_positions": [2, 7],
        "one_finger": hit_rates(one, size), "two_fingers": hit_rates(two, size),
        "mate_in_top50_candidates": round(float(np.mean(top50)), 4),
        "candidates_ms_p50_p95": [round(float(np.percentile(lat_c, q)) * 1e3, 1) for q in (50, 95)],
        "identify_ms_p50_p95": [round(float(np.percentile(lat_i, q)) * 1e3, 1) for q in (50, 95)],
        "generate_cpu_s": round(t_gen, 1), "insert_cpu_s": round(t_ins, 1),
        "inserts_per_cpu_s": round(size / max(t_ins, 1e-9), 1),
        "bytes_per_identity": g.bytes_per_identity(),
    }


def generator_check(bank, templates: dict, *, pairs: int, seed: int = 5) -> dict:
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.fingerprint import synthetic as syn

    eng = get_engine()
    cal = eng.calibration
    rng = np.random.default_rng(seed)
    n = max(2, pairs)
    c0 = time.process_time()
    masters = syn.make_masters(bank, rng, n)
    a = syn.impress(bank, masters, rng)
    b = syn.impress(bank, masters, rng)
    gen_s = time.process_time() - c0
    real = list(templates.items())
    rt = [t for _, t in real]

    def z(x, y):
        return cal.normalise("finger", eng.compare_fingers(x, y))

    def shares(zs):
        zs = np.asarray(zs)
        return {"pairs": int(zs.size), **{f"z_ge_{k}": round(float(np.mean(zs >= k)), 4) for k in (1, 2, 3)}}

    ss = [z(a[i], b[(i + 1) % n]) for i in range(n)]
    sr = [z(a[i], rt[(7 * i) % len(rt)]) for i in range(n)]
    rr = [z(x, y) for i, ((s1, f1, _), x) in enumerate(real) for (s2, f2, _), y in real[i + 1:]
          if (s1, f1) != (s2, f2)]
    gen_syn = np.array([eng.compare_fingers(a[i], b[i]) for i in range(min(n, 500))])
    gen_real = np.array([eng.compare_fingers(x, y) for i, ((s1, f1, _), x) in enumerate(real)
                         for (s2, f2, _), y in real[i + 1:] if (s1, f1) == (s2, f2)])

    def dist(v):
        zs = np.array([cal.normalise("finger", x) for x in v])
        return {"pairs": int(v.size), "mean": round(float(v.mean()), 3), "median": round(float(np.median(v)), 3),
                "p10": round(float(np.percentile(v, 10)), 3), "p90": round(float(np.percentile(v, 90)), 3),
                "share_z_lt_3": round(float(np.mean(zs < 3)), 4)}

    counts_syn = [len(t.minutiae) for t in a]
    counts_real = [len(t.minutiae) for t in rt]
    return {
        "expected_if_impostor_like": {"z_ge_1": 0.1, "z_ge_2": 0.01, "z_ge_3": 0.001},
        "impostor_synthetic_vs_synthetic": shares(ss), "impostor_synthetic_vs_real": shares(sr),
        "impostor_real_vs_real": shares(rr),
        "genuine_synthetic": dist(gen_syn), "genuine_real_fvc": dist(gen_real),
        "minutiae_per_finger": {"synthetic_mean": round(float(np.mean(counts_syn)), 1),
                                "synthetic_p5_p95": [int(x) for x in np.percentile(counts_syn, [5, 95])],
                                "real_mean": round(float(np.mean(counts_real)), 1),
                                "real_p5_p95": [int(x) for x in np.percentile(counts_real, [5, 95])]},
        "generator_fingers_per_cpu_s": round(2 * n / max(gen_s, 1e-9), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distractors", type=int, default=990)
    ap.add_argument("--population", type=int, default=100_000)
    ap.add_argument("--probes", type=int, default=500)
    ap.add_argument("--check-pairs", type=int, default=1500)
    ap.add_argument("--skip-population", action="store_true")
    ap.add_argument("--chart", type=Path, default=None, help="PNG: hit rate against penetration on FVC")
    a = ap.parse_args()
    from ktpel.biometrics.fingerprint import synthetic as syn

    templates = fvc_templates()
    bank = syn.FieldBank.from_templates(list(templates.values()))
    rng = np.random.default_rng(3)
    distractors = syn.impress(bank, syn.make_masters(bank, rng, a.distractors), rng) if a.distractors else []
    report: dict = {"load_average_start": os.getloadavg()[0]}
    curves: dict[tuple[str, str], list[float]] = {}
    report["fvc"] = fvc_figures(templates, distractors, curves)
    if a.chart:
        print(f"chart: {chart(report['fvc'], curves, a.chart)}", flush=True)
    for row in report["fvc"]:
        print(f"{row['set']:15s} {row['method']:10s} gallery {row['gallery']:5d}  hit@1% {row['hit@1%']:.3f}  "
              f"hit@5% {row['hit@5%']:.3f}  hit@10% {row['hit@10%']:.3f}  rank-1 {row['rank1']:.3f}", flush=True)
    report["generator_check"] = generator_check(bank, templates, pairs=a.check_pairs)
    print(json.dumps(report["generator_check"], indent=1), flush=True)
    if not a.skip_population:
        report["population"] = population_figures(bank, size=a.population, probes=a.probes)
        print(json.dumps(report["population"], indent=1), flush=True)
    report["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
