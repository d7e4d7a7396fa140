"""Memory of one ABIS shard as its gallery grows: resident memory and the gallery's own account.

Run: nice OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_memory.py [--distinct 5000] [--up-to 400000]
         [--step 50000] [--max-rss-gb 8]

What it does, exactly: `--distinct` chimeric identities are made as bench/abis_national.py makes them
(face from the ORL-fitted mixture, four fingers of their own, positions 1, 2, 6, 7, all in the LSH
index), then inserted into one in-process `Gallery` again and again under new reference ids until
`--up-to` (or until the process passes `--max-rss-gb`). Every reference costs what a real one costs:
its own float16 face vector and FAISS entry, its own compact finger blob, its own LSH postings (same
count as the original's). To make a large gallery in minutes, the LSH keys of a repeated finger are
memoised (they are a pure function of its minutiae); so the insert rate printed here is NOT the real
insert rate (bench/abis_national.py measures that), and the index's bucket tables are smaller than with
distinct fingers (repeated keys share buckets: 12 bytes per bucket, against 4 per posting, so the
finger-index figure is a lower bound by at most the bucket share). Identify is not timed here: repeated
identities would flood the candidates with copies.
The blobs of repeated fingers are memoised too (copied, so each reference holds its own bytes).
Prints, at each step: references, process RSS (MB), its growth per reference since the first step
(which pays the one-off costs) and during the step, and
`Gallery.bytes_per_identity()` per part.
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


def rss_mb() -> float:
    """Resident memory after handing freed heap pages back (malloc_trim): what the gallery holds, not
    the allocator's high-water mark from insert temporaries."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--distinct", type=int, default=5000)
    ap.add_argument("--up-to", type=int, default=400_000)
    ap.add_argument("--step", type=int, default=50_000)
    ap.add_argument("--max-rss-gb", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=15)
    a = ap.parse_args()
    from bench import abis_national as nat
    from ktpel.biometrics import gallery as gallery_mod
    from ktpel.biometrics.gallery import Gallery
    from ktpel.config import Settings

    real = nat.real_material(Settings().resolved_shared_data())
    pop = nat.Population(a.distinct, faces=nat.face_model(real["faces"]), fingers=nat.Fingers(real["fingers"], seed=a.seed),
                         seed=a.seed, model_id=real["model_id"])
    rng = np.random.default_rng(a.seed + 1)
    t0 = time.perf_counter()
    enrol = pop.templates(np.arange(a.distinct), rng=rng)
    print(json.dumps({"generate_s": round(time.perf_counter() - t0, 1), "distinct": a.distinct,
                      "load_average": [round(x, 1) for x in os.getloadavg()]}), flush=True)
    memo: dict[bytes, np.ndarray] = {}
    keys = gallery_mod.finger_keys

    def memo_keys(minutiae: np.ndarray) -> np.ndarray:
        k = minutiae.tobytes()
        if k not in memo:
            memo[k] = keys(minutiae)
        return memo[k]

    gallery_mod.finger_keys = memo_keys
    packed: dict[tuple, bytes] = {}
    pack = gallery_mod.pack_fingers

    def memo_pack(slots: dict) -> bytes:
        k = tuple((p, id(t)) for p, t in slots.items())
        if k not in packed:
            packed[k] = pack(slots)
        return bytes(bytearray(packed[k]))  # a blob of its own, as every reference has

    gallery_mod.pack_fingers = memo_pack
    g = Gallery(indexed_positions=nat.POSITIONS)
    face_dim = enrol[0][0].embedding.shape[0]
    t0 = time.perf_counter()
    n = 0
    base, at_base, last, at_last = None, 0, None, 0
    while n < a.up_to:
        for _ in range(min(a.step, a.up_to - n)):
            t = enrol[n % a.distinct]
            # a face of its own (cheap, and FAISS holds it like any other)
            v = pop.face[n % a.distinct] + 0.05 * rng.standard_normal(face_dim).astype(np.float32)
            face = type(t[0])(v / np.linalg.norm(v), t[0].model_id, t[0].quality)
            g.insert(f"R{n:09d}", [face] + t[1:])
            n += 1
        for idx in g._finger_index.values():  # noqa: SLF001 — merge pending segments before measuring
            idx.compact()
        rss = rss_mb()
        if base is None:  # the first step pays the one-off costs (kernels compiled, FAISS, arenas)
            base, at_base = rss, n
        print(json.dumps({"references": n, "rss_mb": round(rss, 1),
                          "rss_growth_per_reference_bytes_since_first_step":
                              round((rss - base) * 2**20 / (n - at_base)) if n > at_base else None,
                          "rss_growth_per_reference_bytes_this_step":
                              round((rss - last) * 2**20 / (n - at_last)) if last is not None else None,
                          "gallery_bytes_per_identity": g.bytes_per_identity(),
                          "seconds": round(time.perf_counter() - t0, 1),
                          "load_average": [round(x, 1) for x in os.getloadavg()]}), flush=True)
        last, at_last = rss, n
        if rss > a.max_rss_gb * 1024:
            print(json.dumps({"stopped": f"RSS above {a.max_rss_gb} GB"}), flush=True)
            break


if __name__ == "__main__":
    main()
