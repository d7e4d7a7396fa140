"""The largest gallery (issue 15): a million chimeric identities in Ray shard actors, streamed.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_million.py [--size 1000000] [--shards 2]
         [--generators 2] [--probes 500] [--dups 100] [--indexed-per-identity N] [--indexed 1,6]
         [--recapture 1,6] [--dump-candidates FILE]

bench/abis_national.py keeps every identity's templates in memory (it compares 1, 2 and 4 shards and
loads the pipeline's database from them), which stops near 100,000 identities on this machine. This
bench streams instead: generator processes make the population in chunks of CHUNK identities, the
driver inserts each chunk into the shards (`RayAbis.insert_many`) and drops it, keeping only the
identities drawn for planted duplicates.

The population is abis_national's (`Population`: faces from the ORL-fitted mixture, four fingers of
their own per identity from the template-level generator, thumbs and index fingers in the LSH index);
each chunk has its own seed, so chunks are independent draws of the same generator. The generator's
check against the real data (impostor z ≥ 1/2/3) is abis_national's `calibration_check`, printed by
that bench; this one does not repeat it. Probes are made as there: unique people, finger-only
duplicates (a new face, new impressions of the enrolled fingers), face-only (another photo of the
enrolled face, other fingers) and both.

Prints (JSON lines): every CHECK_EVERY chunks, the identities held and the shards' memory growth; insert rate, memory (the shards' resident memory growth and the gallery's own
account, per identity), identify p50/p95 (wall), FNIR per planted kind, FPIR (a unique person sent
to a person by the decide stage's rule at this gallery size), the mate's rank among the finger
index's merged proposals (hit rate at the candidate cap: penetration CANDIDATES / N), and for every
miss or unique person sent to review, why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench import abis_national as nat  # noqa: E402

CHUNK = 2000
CHECK_EVERY = 25  # chunks between checks that the shards still hold everything sent
_GEN: dict = {}  # per generator process: real material, face model, finger bank


def _generator() -> dict:
    if not _GEN:
        from ktpel.config import Settings

        real = nat.real_material(Settings().resolved_shared_data())
        _GEN.update(real=real, faces=nat.face_model(real["faces"]), fingers=nat.Fingers(real["fingers"], seed=0))
    return _GEN


def make_chunk(args: tuple[int, int, int, list[int], tuple[int, ...]]) -> tuple[int, list, dict]:
    """Identities chunk·CHUNK … + size: their enrolment templates as bytes, and the face and master
    fingers of the identities in `keep` (local indices), for the planted duplicates' probes; captures at
    the `recapture` positions taken again while poor (abis_national's RECAPTURE)."""
    chunk, size, seed, keep, recapture = args
    nat.RECAPTURE = recapture
    g = _generator()
    g["fingers"].rng = np.random.default_rng((seed, chunk, 1))
    pop = nat.Population(size, faces=g["faces"], fingers=g["fingers"], seed=seed * 1_000_003 + chunk,
                         model_id=g["real"]["model_id"])
    ts = pop.templates(np.arange(size), rng=np.random.default_rng((seed, chunk, 2)))
    items = [(ref_of(chunk * CHUNK + i), [t.to_bytes() for t in tpl]) for i, tpl in enumerate(ts)]
    kept = {i: (pop.face[i], {p: pop._sub(pop.masters[p], np.array([i])) for p in nat.POSITIONS}) for i in keep}
    return chunk, items, kept


def ref_of(i: int) -> str:
    return f"I{i:08d}"


def probes_for(kept: dict[int, tuple], *, n_unique: int, dups: int, seed: int, rng: np.random.Generator) -> dict:
    """Unique people and the three planted kinds (abis_national's recipes, one identity at a time)."""
    g = _generator()
    real, fingers = g["real"], g["fingers"]
    fingers.rng = np.random.default_rng((seed, 99))
    new = nat.Population(n_unique + dups, faces=g["faces"], fingers=fingers, seed=seed + 99,
                         model_id=real["model_id"])
    gen_cos = nat.genuine_face_cosines(real["faces"])
    ids = sorted(kept)
    fo, fa, bo = ids[:dups], ids[dups:2 * dups], ids[2 * dups:3 * dups]

    def impressions(masters: dict) -> list:
        return [nat.positioned(fingers.impressions(masters[p], rng, retake=p in nat.RECAPTURE)[0], p)
                for p in nat.POSITIONS]

    def face(vec: np.ndarray):  # noqa: ANN202
        from ktpel.biometrics.templates import FaceTemplate

        return FaceTemplate(np.asarray(vec, np.float32), real["model_id"], 80.0)

    out = {"unique": [(None, t) for t in new.templates(np.arange(n_unique), rng=rng)], "finger_only": [],
           "face_only": [], "both": []}
    for k, i in enumerate(fo):
        out["finger_only"].append((ref_of(i), [face(new.face[n_unique + k])] + impressions(kept[i][1])))
    for k, i in enumerate(fa):
        other = {p: new._sub(new.masters[p], np.array([n_unique + k])) for p in nat.POSITIONS}
        photo = nat.second_photo(rng, kept[i][0][None, :], genuine=gen_cos)[0]
        out["face_only"].append((ref_of(i), [face(photo)] + impressions(other)))
    for i in bo:
        photo = nat.second_photo(rng, kept[i][0][None, :], genuine=gen_cos)[0]
        out["both"].append((ref_of(i), [face(photo)] + impressions(kept[i][1])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--generators", type=int, default=2, help="generator processes")
    ap.add_argument("--probes", type=int, default=500, help="unique probes (FPIR)")
    ap.add_argument("--dups", type=int, default=100, help="planted duplicates of each kind")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--indexed-per-identity", type=int, default=None)
    ap.add_argument("--indexed", default=",".join(map(str, nat.INDEXED)), help="finger positions in the LSH index "
                                                                              "(1,6: the thumbs alone)")
    ap.add_argument("--recapture", default="", help="positions whose poor captures are taken again, e.g. 1,6 "
                                                    "(abis_national's RECAPTURE); default none")
    ap.add_argument("--dump-candidates", type=Path, default=None,
                    help="JSON lines: every probe's candidates with their per-modality z (bench/abis_rule_replay.py)")
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    nat.INDEXED = tuple(int(x) for x in a.indexed.split(","))
    nat.RECAPTURE = tuple(int(x) for x in a.recapture.split(",") if x)
    print(json.dumps({"load_average_at_start": os.getloadavg(), "size": a.size, "shards": a.shards,
                      "indexed": nat.INDEXED, "indexed_per_identity": a.indexed_per_identity or "all",
                      "recapture": nat.RECAPTURE}), flush=True)
    rng = np.random.default_rng(a.seed + 1)
    chosen = rng.choice(a.size, size=3 * a.dups, replace=False)
    rng.shuffle(chosen)
    keep: dict[int, list[int]] = {}
    for i in chosen:
        keep.setdefault(int(i) // CHUNK, []).append(int(i) % CHUNK)
    chunks = [(c, min(CHUNK, a.size - c * CHUNK), a.seed, keep.get(c, []), nat.RECAPTURE)
              for c in range((a.size + CHUNK - 1) // CHUNK)]

    import ray
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ktpel.central.abis import init_ray
    from ktpel.central.abis.ray_abis import RayAbis
    from ktpel.central.abis.shard import shard_of

    # the shard actors must run this tree's code, not whatever ktpel the interpreter has installed
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    init_ray(address=None, num_cpus=2)
    abis = RayAbis.start(shards=a.shards, indexed_positions=nat.INDEXED, indexed_per_identity=a.indexed_per_identity)
    base = sum(ray.get([x.rss_mb.remote() for x in abis.actors]))
    kept: dict[int, tuple] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    pending, sent = None, 0
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with ProcessPoolExecutor(a.generators, mp_context=get_context("spawn")) as pool, Progress(*cols) as bar:
        task = bar.add_task("identities generated and inserted", total=a.size)
        for chunk, items, got in bounded_map(pool, make_chunk, chunks, window=2 * a.generators):
            kept.update({chunk * CHUNK + i: v for i, v in got.items()})
            if pending is not None:
                ray.get(pending)  # one chunk in flight: generation and insertion overlap
            by: dict[int, list] = {}
            for rid, blobs in items:
                by.setdefault(shard_of(rid, a.shards), []).append((rid, blobs))
            pending = [abis.actors[k].insert_many.remote(v) for k, v in by.items()]
            bar.advance(task, len(items))
            sent += len(items)
            if chunk % CHECK_EVERY == 0:
                held = check_held(abis, expected=sent - len(items))
                grown = sum(ray.get([x.rss_mb.remote() for x in abis.actors])) - base
                print(json.dumps({"held": held, "shards_rss_growth_mb": round(grown),
                                  "elapsed_s": round(time.perf_counter() - t0),
                                  "load_average": [round(x, 1) for x in os.getloadavg()]}), flush=True)
        if pending is not None:
            ray.get(pending)
    check_held(abis, expected=sent)
    insert_s = time.perf_counter() - t0
    rss = sum(ray.get([x.rss_mb.remote() for x in abis.actors]))
    parts = ray.get([x.bytes_per_identity.remote() for x in abis.actors])
    held = sum(s["references"] for s in abis.stats())
    print(json.dumps({"identities": held, "insert_per_s": round(a.size / insert_s, 1), "insert_wall_s": round(insert_s),
                      "driver_cpu_s": round(time.process_time() - c0), "rss_growth_mb": round(rss - base),
                      "memory_per_identity_bytes": round((rss - base) * 2**20 / held),
                      "gallery_bytes_per_identity": parts[0],
                      "load_average": [round(x, 1) for x in os.getloadavg()]}), flush=True)

    probes = probes_for(kept, n_unique=a.probes, dups=a.dups, seed=a.seed, rng=rng)
    lat: list[float] = []
    outcomes, ranks = {}, {"finger_only": [], "both": []}
    dump = a.dump_candidates.open("w", encoding="utf-8") if a.dump_candidates else None
    with Progress(*cols) as bar:
        for kind, items in probes.items():
            task = bar.add_task(f"identify: {kind}", total=len(items))
            hits = 0
            for n, (target, t) in enumerate(items):
                t1 = time.perf_counter()
                resp = abis.identify(t, max_candidates=6)
                lat.append((time.perf_counter() - t1) * 1000)
                adj, conflict = nat.reaches_person(resp, gallery_size=held)
                if dump is not None:
                    nat.dump_candidates(dump, shards=a.shards, kind=kind, n=n, target=target, resp=resp)
                found = target is not None and adj and any(c.reference_id == target for c in resp.candidates)
                hits += int(adj if target is None else found)
                if kind in ranks:
                    ranks[kind].append(nat.candidate_ranks(abis, t, target)["finger"])
                if (target is None and adj) or (target is not None and not found):
                    why = nat.explain(abis, kind=kind, n=n, target=target, templates=t, resp=resp, reason=conflict,
                                      gallery_size=held)
                    print(json.dumps({"why": why}), flush=True)
                bar.advance(task)
            outcomes[kind] = (hits, len(items))
    if dump is not None:
        dump.close()
    res = {"identities": held, "shards": a.shards, "identify_p50_ms": round(nat.pct(lat, 50), 1),
           "identify_p95_ms": round(nat.pct(lat, 95), 1), "outcomes": outcomes,
           "FNIR": {k: round(1 - outcomes[k][0] / outcomes[k][1], 4) for k in ("finger_only", "face_only", "both")},
           "FPIR": round(outcomes["unique"][0] / outcomes["unique"][1], 4),
           "finger_index_hit_at_cap": {k: f"{sum(r is not None for r in v)}/{len(v)}" for k, v in ranks.items()},
           "finger_index_rank0": {k: sum(r == 0 for r in v) for k, v in ranks.items()},
           "load_average": [round(x, 1) for x in os.getloadavg()]}
    print(json.dumps(res), flush=True)
    abis.shutdown()
    ray.shutdown()


def check_held(abis, *, expected: int) -> int:  # noqa: ANN001
    """Stop at once when the shards hold fewer identities than were sent: a shard killed and restarted
    by Ray (e.g. its memory monitor) comes back empty here (no database to rebuild from), and Ray
    retries the interrupted insert on it, so the run would go on with a slice missing."""
    held = sum(s["references"] for s in abis.stats())
    if held < expected:
        print(json.dumps({"error": "a shard lost its slice (restarted?)", "held": held, "sent": expected,
                          "load_average": os.getloadavg()}), flush=True)
        raise SystemExit(2)
    return held


def bounded_map(pool, fn, args: list, *, window: int):  # noqa: ANN001, ANN201
    """pool.map in order, with at most `window` chunks generated ahead (each is ~10 MB of templates)."""
    from collections import deque

    ahead: deque = deque()
    for x in args:
        ahead.append(pool.submit(fn, x))
        if len(ahead) >= window:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


if __name__ == "__main__":
    main()
