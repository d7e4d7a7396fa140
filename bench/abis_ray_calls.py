"""What a decision's Ray calls cost the shards (issue 15, "≥ 12 decisions/s"): shard CPU per decision
for the calls a pipeline worker makes, one kind added at a time.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_ray_calls.py [--chunks 3]

Two shard actors on a local Ray (`ray.init(num_cpus=2)`) hold `--chunks` × bench/abis_million.CHUNK
identities (its generator). 80 probes (40 unique people, 20 finger-only and 20 both-kind duplicates)
are then decided three ways, each on fresh reference ids: identify only (2 candidates + 2 score calls);
the record inserted into its shard first (+1 insert_many call, as GalleryMirror.refresh does); and a
synced mark sent to every shard after each insert (+2 calls: what the mirror did before
`gallery.MARK_EVERY_S`). Printed per decision: the shards' CPU (both actors' process time), the
driver's, and the whole machine's (Ray's raylet and object store included, less what the machine uses
idle over the same time); and the shards' and the machine's CPU while idle. The difference between
the last two ways is the price of a mark per decision.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=3)
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import ray
    from rich.progress import track

    from bench import abis_million as m
    from ktpel.biometrics.templates import template_from_bytes
    from ktpel.central.abis.ray_abis import RayAbis

    ray.init(num_cpus=2, include_dashboard=False)
    try:
        abis = RayAbis.start(shards=2, indexed_positions=(1, 2, 6, 7))
        kept: dict = {}
        for c in track(range(a.chunks), description="gallery"):
            chunk, items, got = m.make_chunk((c, m.CHUNK, 15, list(range(60)) if c == 0 else [], ()))
            kept.update({chunk * m.CHUNK + i: v for i, v in got.items()})
            abis.insert_many(items)
        probes = m.probes_for(kept, n_unique=40, dups=20, seed=15, rng=np.random.default_rng(3))
        items = [[x.to_bytes() for x in tpl] for _, tpl in probes["unique"] + probes["finger_only"] + probes["both"]]

        def shard_cpu() -> float:
            return sum(ray.get([x.cpu_s.remote() for x in abis.actors]))

        s0, b0 = shard_cpu(), machine_busy_s()
        time.sleep(10)
        idle = {"shards": (shard_cpu() - s0) / 10, "machine": (machine_busy_s() - b0) / 10}

        def decide(tag: str, *, insert: bool, mark: bool) -> dict:
            s0, d0, b0, t0 = shard_cpu(), time.process_time(), machine_busy_s(), time.perf_counter()
            for n, blobs in enumerate(items):
                probe = [template_from_bytes(b) for b in blobs]
                if insert:
                    abis.insert_many([(f"{tag}{n:05d}", probe)])
                    if mark:
                        abis.mark_synced(n + 1)
                abis.identify(probe, max_candidates=10, exclude=f"{tag}{n:05d}" if insert else None)
            wall = time.perf_counter() - t0
            return {"shard_cpu_ms": round((shard_cpu() - s0) * 1000 / len(items), 1),
                    "driver_cpu_ms": round((time.process_time() - d0) * 1000 / len(items), 1),
                    # every process's CPU (Ray's raylet and object store included), less what the machine
                    # uses idle over the same time
                    "machine_cpu_ms": round((machine_busy_s() - b0 - idle["machine"] * wall) * 1000 / len(items), 1)}

        decide("W", insert=True, mark=True)  # warm-up: kernels compiled, caches filled
        out = {"identities": len(abis), "decisions_each": len(items),
               "identify_only": decide("A", insert=False, mark=False),
               "insert_then_identify": decide("B", insert=True, mark=False),
               "insert_mark_identify": decide("C", insert=True, mark=True)}
        out["idle_shard_cpu_ms_per_s"] = round(idle["shards"] * 1000, 1)
        out["idle_machine_cpu_ms_per_s"] = round(idle["machine"] * 1000, 1)
        out["mark_cost_ms_per_decision"] = round(out["insert_mark_identify"]["shard_cpu_ms"]
                                                 - out["insert_then_identify"]["shard_cpu_ms"], 1)
        print(json.dumps(out), flush=True)
    finally:
        ray.shutdown()


def machine_busy_s() -> float:
    """CPU seconds every process on this machine has used (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
