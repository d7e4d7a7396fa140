"""Why two indexed fingers miss at 1M: the LSH index per finger against the 1:1 matcher, and a sweep
of the index's parameters (issue 15, "finger-only ≥ 99 % at 1M with 2 fingers indexed").

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_index_sweep.py [--size 100000] [--probes 300]
         [--configs default,bits16_tables32,...]

Population: `--size` identities with their own synthetic fingers at the four bench positions
(bench/abis_national.Fingers: the same generator and seed family); probes are second impressions of
`--probes` of them (finger-only duplicates: the face plays no part). Every configuration builds the
index of the two thumbs (1, 6) or of all four positions from the same cylinders and ranks every
identity by the summed LSH score, as `Gallery._finger_evidence` does. A configuration overrides the
module constants of fingerprint/index.py for the run only (they are fixed for an installation:
hashing differently means re-indexing the gallery).

Printed per configuration: the mate in the top 50 at this size, at 1 % penetration, and the top 50
projected to 1M. The projection stands on the score being the probe's and that owner's alone (the
index docstring): an impostor outranks the mate with a probability that does not depend on the
gallery, so the mate's rank grows in proportion to N, and rank r here is rank r·1M/N at 1M.
Per thumb (first configuration): the mate pair's 1:1 z (the calibrated scale) against the mate's rank
in that thumb's index alone: how many pairs the matcher would find that the index does not propose.
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

THUMBS, FOUR = (1, 6), (1, 2, 6, 7)
CONFIGS = {  # name: (indexed positions, overrides of fingerprint/index.py constants)
    "four_default": (FOUR, {}),
    "thumbs_default": (THUMBS, {}),
    "thumbs_power2": (THUMBS, {"POWER": 2.0}),
    "thumbs_min_hits2": (THUMBS, {"MIN_HITS": 2}),
    "thumbs_bits16": (THUMBS, {"HASH_BITS": 16}),
    "thumbs_bits16_tables32": (THUMBS, {"HASH_BITS": 16, "TABLES": 32}),
    "thumbs_bits24_tables32": (THUMBS, {"HASH_BITS": 24, "TABLES": 32}),
    "thumbs_max48": (THUMBS, {"MAX_MINUTIAE": 48, "MINUTIA_BITS": 6}),
    "thumbs_min_neighbours2": (THUMBS, {"MIN_NEIGHBOURS": 2}),
    "thumbs_vote05": (THUMBS, {"VOTE_THRESHOLD": 0.05}),
}


def population(size: int, probes: int, seed: int = 15, *, positions: tuple[int, ...] = FOUR) -> tuple[dict, dict, dict]:
    """Enrolled and probe minutiae per position (gallery: every identity; probes: a second impression),
    and the thumbs' mate pairs as whole templates (with their orientation fields, for the 1:1 matcher)."""
    from rich.progress import Progress

    from bench import abis_national as nat
    from ktpel.config import Settings

    real = nat.real_material(Settings().resolved_shared_data())
    fingers = nat.Fingers(real["fingers"], seed=seed)
    rng = np.random.default_rng(seed + 1)
    mates = np.sort(rng.choice(size, probes, replace=False))
    enrolled: dict[int, list[np.ndarray]] = {}
    probe: dict[int, dict[int, np.ndarray]] = {int(m): {} for m in mates}
    pairs: dict[int, dict[int, tuple]] = {p: {} for p in THUMBS}
    with Progress() as bar:
        task = bar.add_task("fingers", total=size * len(positions))
        for p in positions:
            enrolled[p] = []
            for s in range(0, size, 5000):
                ms = fingers.masters(min(5000, size - s))
                got = fingers.impressions(ms, rng)
                enrolled[p] += [t.minutiae.astype(np.float32) for t in got]
                sel = mates[(mates >= s) & (mates < s + len(ms))] - s
                sub = type(ms)(*(getattr(ms, f)[sel] for f in type(ms).__dataclass_fields__))
                for i, t in zip(sel, fingers.impressions(sub, rng)):
                    probe[int(s + i)][p] = t.minutiae
                    if p in THUMBS:
                        pairs[p][int(s + i)] = (t, got[i])
                bar.advance(task, len(ms))
    return enrolled, probe, pairs


def configure(overrides: dict) -> None:
    """Set fingerprint/index.py's constants (and the hash functions they determine) for this run."""
    from ktpel.biometrics.fingerprint import index as ix

    base = {"HASH_BITS": 20, "TABLES": 16, "POWER": 1.0, "MIN_HITS": 1, "MAX_MINUTIAE": 32, "MINUTIA_BITS": 5,
            "MIN_NEIGHBOURS": 3, "VOTE_THRESHOLD": 0.02}
    for k, v in {**base, **overrides}.items():
        setattr(ix, k, v)
    ix._HASH_IDX = np.stack([np.random.default_rng(ix._SEED + t).choice(ix.BITS, ix.HASH_BITS, replace=False)
                             for t in range(ix.TABLES)])
    ix._WEIGHTS = (np.uint32(1) << np.arange(ix.HASH_BITS, dtype=np.uint32)).astype(np.uint32)


def build(minutiae: list[np.ndarray]):  # noqa: ANN201
    """One position's index over every identity (owner = identity number), in one segment."""
    from ktpel.biometrics.fingerprint import index as ix
    from ktpel.biometrics.fingerprint.owners import LiveOwners

    keys, owners, table = [], [], []
    for o, m in enumerate(minutiae):
        k = ix.finger_keys(m)
        keys.append(k.reshape(-1))
        owners.append(((o << ix.MINUTIA_BITS) | np.repeat(np.arange(len(k)), ix.TABLES)).astype(np.int32))
        table.append(np.tile(np.arange(ix.TABLES), len(k)))
    k, o, t = np.concatenate(keys), np.concatenate(owners), np.concatenate(table)
    live = k != 0
    idx = ix.FingerIndex()
    idx._segments = [ix._build(t[live], k[live], o[live])]
    idx._owners = LiveOwners(present=len(minutiae))
    return idx


def ranks(indexes: dict, probe: dict, size: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The mate's rank by summed score, and per position by that finger alone (size: never met)."""
    from ktpel.biometrics.fingerprint import index as ix

    summed, alone = [], {p: [] for p in indexes}
    for mate, fingers in probe.items():
        total = np.zeros(size)
        for p, idx in indexes.items():
            owners, scores = idx.search(ix.probe_keys(fingers[p]))
            best = np.zeros(size)
            np.maximum.at(best, owners, scores)
            total += best
            alone[p].append(int((best > best[mate]).sum()) if best[mate] > 0 else size)
        summed.append(int((total > total[mate]).sum()) if total[mate] > 0 else size)
    return np.array(summed), {p: np.array(r) for p, r in alone.items()}


def thumb_z(pairs: dict, probe: dict) -> dict[int, np.ndarray]:
    """1:1 z of each mate pair per thumb (calibrated scale), in the probes' order."""
    from ktpel.biometrics import get_engine

    eng = get_engine()
    return {p: np.array([eng.calibration.normalise("finger", eng.compare_fingers(*pairs[p][mate])) for mate in probe])
            for p in THUMBS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    a = ap.parse_args()
    t0 = time.time()
    enrolled, probe, pairs = population(a.size, a.probes)
    print(json.dumps({"identities": a.size, "probes": a.probes, "generate_s": round(time.time() - t0)}), flush=True)
    scale = 1_000_000 / a.size
    for n, name in enumerate(a.configs.split(",")):
        positions, overrides = CONFIGS[name]
        configure(overrides)
        t0 = time.time()
        indexes = {p: build(enrolled[p]) for p in positions}
        built = time.time() - t0
        c0 = time.process_time()
        summed, alone = ranks(indexes, probe, a.size)
        search_ms = (time.process_time() - c0) * 1000 / len(summed)
        row = {"config": name, **overrides, "postings_per_identity": round(sum(i.postings() for i in indexes.values()) / a.size),
               "build_s": round(built), "search_cpu_ms": round(search_ms, 1),
               "top50": round(float((summed < 50).mean()), 4),
               "penetration_1pct": round(float((summed < a.size // 100).mean()), 4),
               "top50_projected_1M": round(float((summed * scale < 50).mean()), 4)}
        if positions == THUMBS:
            row["one_thumb_penetration_1pct"] = round(float(np.mean([(r < a.size // 100).mean() for r in alone.values()])), 4)
        print(json.dumps(row), flush=True)
        if name == "thumbs_default":
            z = thumb_z(pairs, probe)
            strong = {p: z[p] >= 5 for p in THUMBS}
            missed = sum(int((strong[p] & (alone[p] >= a.size // 100)).sum()) for p in THUMBS)
            print(json.dumps({"thumb_pairs": 2 * len(summed),
                              "matcher_z_ge_5": sum(int(s.sum()) for s in strong.values()),
                              "of_those_index_beyond_1pct": missed,
                              "both_thumbs_below_z5": int((~strong[1] & ~strong[6]).sum()),
                              "probes": len(summed)}), flush=True)
    configure({})


if __name__ == "__main__":
    main()
