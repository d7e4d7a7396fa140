"""Where a Ray shard's extra CPU goes (issue 15, "≥ 12 decisions/s"): the same identify calls on the same
two shard slices, in this process and in two shard actors.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_actor_cpu.py [--chunks 3] [--rounds 2]

Two `ShardCore`s in this process and two shard actors on a local Ray (`ray.init(num_cpus=2)`) hold the
same `--chunks` × bench/abis_million.CHUNK identities (its generator). 80 probes (40 unique people, 20
finger-only and 20 both-kind duplicates) are identified both ways: by `RayAbis.identify`, and in this
process with the same calls on the same packed probe (each shard's phase 1, the merge, each owning
shard's 1:1 scores; each shard unpacks the probe itself); each way runs `--rounds` times after a warm-up. Printed per
decision: in process, the calls' CPU; in the actors, the CPU of the thread that runs their calls
(`ShardActor.task_cpu_s`: the search plus Ray's unpacking of the call) and of the whole process (plus
Ray's own threads). Then what a record sent again costs (a pipeline worker's refresh sends the shards
every record numbered since its last one, the other workers' too, which the shards already hold): the
shard's thread and process CPU and the caller's CPU a record.
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
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    import faiss
    import ray
    from rich.progress import track

    from bench import abis_million as m
    from ktpel.biometrics.gallery import merge_proposals, pack_probe, prepare_probe
    from ktpel.central.abis.ray_abis import RayAbis
    from ktpel.central.abis.shard import ShardCore, shard_of

    faiss.omp_set_num_threads(1)  # as in a shard actor
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        abis = RayAbis.start(shards=2)
        local = [ShardCore(shard=k, shards=2) for k in range(2)]
        kept: dict = {}
        for c in track(range(a.chunks), description="gallery"):
            chunk, items, got = m.make_chunk((c, m.CHUNK, 15, list(range(60)) if c == 0 else [], ()))
            kept.update({chunk * m.CHUNK + i: v for i, v in got.items()})
            abis.insert_many(items)
            for rid, blobs in items:
                local[shard_of(rid, 2)].insert(rid, blobs)
        probes = m.probes_for(kept, n_unique=40, dups=20, seed=15, rng=np.random.default_rng(3))
        items = [[x.to_bytes() for x in tpl] for _, tpl in probes["unique"] + probes["finger_only"] + probes["both"]]
        packed = [pack_probe(prepare_probe(blobs)) for blobs in items]

        def identify_local(probe: bytes) -> None:
            refs, lead = merge_proposals([s.candidates(probe, limit=50) for s in local], limit=50)
            for k, s in enumerate(local):
                mine = [r for r in refs if shard_of(r, 2) == k]
                s.score(probe, mine, lead={r: lead[r] for r in mine if r in lead})


        def remote_cpu() -> np.ndarray:
            return np.array([ray.get([x.task_cpu_s.remote() for x in abis.actors]),
                             ray.get([x.cpu_s.remote() for x in abis.actors])]).sum(axis=1)

        for probe, blobs in zip(packed[:10], items):  # warm-up: kernels loaded, caches filled, both ways
            identify_local(probe)
            abis.identify(blobs)
        out: dict = {"identities": len(abis), "decisions_each": len(packed), "rounds": []}
        for _ in range(a.rounds):
            c0 = time.thread_time()
            for probe in packed:
                identify_local(probe)
            in_process = (time.thread_time() - c0) * 1000 / len(packed)
            r0 = remote_cpu()
            for blobs in items:  # the shards' calls are identify_local's; packing the probe is the caller's
                abis.identify(blobs)
            task, process = (remote_cpu() - r0) * 1000 / len(packed)
            out["rounds"].append({"in_process_ms": round(in_process, 1), "actor_call_thread_ms": round(task, 1),
                                  "actor_process_ms": round(process, 1),
                                  "actor_thread_over_in_process": round(task / in_process, 2)})
        # a record another worker already put in its shard, sent again by this worker's refresh (the
        # shards hold every worker's records; a write changes nothing the second time)
        for n, blobs in enumerate(items):
            abis.insert_many([(f"R{n:05d}", blobs)])
        r0, d0 = remote_cpu(), time.process_time()
        for n, blobs in enumerate(items):
            abis.insert_many([(f"R{n:05d}", blobs)])
        task, process = (remote_cpu() - r0) * 1000 / len(items)
        out["record_sent_again"] = {"actor_call_thread_ms": round(task, 2), "actor_process_ms": round(process, 2),
                                    "caller_ms": round((time.process_time() - d0) * 1000 / len(items), 2)}
        print(json.dumps(out), flush=True)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
