"""CPU cost of one decision (issue 15): where a decision's CPU goes, in-process and on Ray shards.

Run: nice -n 10 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_cpu.py [--size 3000] [--probes 40]
         [--decisions 40] [--ray 2] [--profile] [--images] [--pg-url URL] [--save FILE] [--compare FILE]

Wall time lies on a shared machine: every figure here is CPU time (`time.process_time`, this process;
Ray shard actors report their own process CPU). The population and probes are bench/abis_national.py's
(same generator, same seed): unique people and the three kinds of planted duplicate.

Prints, per probe kind, CPU ms per identify split into phase 1 (candidates: face index, finger LSH) and
phase 2 (1:1 scoring of candidates: face + fingers), the number of finger compares; then CPU ms per
decision through the real pipeline (SQLite, in-process gallery, one worker, steady state) with the
stages' CPU, and with --ray K the same pipeline over K shard actors (this process's CPU + the shards').
--save writes every probe's answer (candidates, fused scores) and every packet's outcome; --compare
checks them against a saved run: the decisions must not change.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench import abis_national as nat  # noqa: E402


def build(size: int, probes: int, dups: int, seed: int, *, legacy_gallery: bool = False) -> tuple:
    """Population, enrolment templates and probes exactly as abis_national.main makes them;
    `legacy_gallery`: the enrolments captured before nat.RECAPTURE's rule, only the probes under it."""
    from ktpel.config import Settings

    shared = Settings().resolved_shared_data()
    real = nat.real_material(shared)
    faces = nat.face_model(real["faces"])
    fingers = nat.Fingers(real["fingers"], seed=seed)
    rng = np.random.default_rng(seed + 1)
    pop = nat.Population(size, faces=faces, fingers=fingers, seed=seed, model_id=real["model_id"])
    enrol = []
    rule, nat.RECAPTURE = nat.RECAPTURE, (() if legacy_gallery else nat.RECAPTURE)
    for s in range(0, size, 5000):
        enrol += pop.templates(np.arange(s, min(size, s + 5000)), rng=rng)
    nat.RECAPTURE = rule
    dup_idx = rng.choice(size, size=3 * dups, replace=False)
    gen_cos = nat.genuine_face_cosines(real["faces"])
    new = nat.Population(probes + dups, faces=faces, fingers=fingers, seed=seed + 99, model_id=real["model_id"])
    fo, fa, bo = dup_idx[:dups], dup_idx[dups:2 * dups], dup_idx[2 * dups:]
    unique = new.templates(np.arange(probes), rng=rng)
    finger_only = pop.templates(fo, rng=rng, face=new.face[probes:])
    other = {p: new._sub(new.masters[p], np.arange(probes, probes + dups)) for p in nat.POSITIONS}
    face_only = pop.templates(fa, rng=rng, face=nat.second_photo(rng, pop.face[fa], genuine=gen_cos),
                              other_masters=other)
    both = pop.templates(bo, rng=rng, face=nat.second_photo(rng, pop.face[bo], genuine=gen_cos))
    kinds = {"unique": [(None, t) for t in unique],
             "finger_only": [(f"I{i:08d}", t) for i, t in zip(fo, finger_only)],
             "face_only": [(f"I{i:08d}", t) for i, t in zip(fa, face_only)],
             "both": [(f"I{i:08d}", t) for i, t in zip(bo, both)]}
    return shared, rng, enrol, kinds


def fresh(templates: list) -> list:
    """The probe as the pipeline sees it: parsed from bytes (no cached matcher features)."""
    from ktpel.biometrics.templates import template_from_bytes

    return [template_from_bytes(t.to_bytes()) for t in templates]


def identify_costs(gallery, kinds: dict) -> tuple[dict, dict]:  # noqa: ANN001
    """CPU ms per identify (phase 1 / phase 2) and finger compares, per probe kind; every answer."""
    from ktpel.biometrics import gallery as g

    compares = [0]
    engine = gallery.engine
    real_compare = engine.compare_fingers

    def counted(a, b):  # noqa: ANN001, ANN202
        compares[0] += 1
        return real_compare(a, b)

    engine.compare_fingers = counted
    out, answers = {}, {}
    try:
        for kind, items in kinds.items():
            p1, p2, n_cmp, cands = [], [], [], []
            for n, (_, t) in enumerate(items):
                probe = fresh(t)
                compares[0] = 0
                c0 = time.process_time()
                props = gallery.candidates(probe, limit=g.CANDIDATES)
                c1 = time.process_time()
                refs, lead = g.merge_proposals([props], limit=g.CANDIDATES)
                res = sorted(gallery.score(probe, refs, lead=lead), key=lambda c: (-c.fused, c.reference_id))[:6]
                c2 = time.process_time()
                p1.append((c1 - c0) * 1000)
                p2.append((c2 - c1) * 1000)
                n_cmp.append(compares[0])
                cands.append(len(refs))
                answers[f"{kind}{n}"] = [(c.reference_id, round(c.fused, 6)) for c in res]
            out[kind] = {"phase1_ms": round(float(np.mean(p1)), 1), "phase2_ms": round(float(np.mean(p2)), 1),
                         "finger_compares": round(float(np.mean(n_cmp)), 1), "candidates": round(float(np.mean(cands)), 1)}
    finally:
        engine.compare_fingers = real_compare
    return out, answers


def pipeline_cpu(*, shared: Path, rng, enrol: list, kinds: dict, n: int, abis, profile: bool,  # noqa: ANN001
                 remote_cpu=None, pg_url: str | None = None) -> dict:  # noqa: ANN001
    """CPU per decision through the real pipeline, each stage's wall time as the worker records it, and a profile
    when asked."""
    from ktpel.central.pipeline.gallery import GalleryMirror
    from ktpel.central.pipeline import queue
    from ktpel.central.pipeline.worker import Worker
    from ktpel.config import Settings
    from ktpel.reference import names as load_names
    from ktpel.store.db import open_database
    from ktpel.store.schema.central import NationalRecordRow, StageRunRow
    from ktpel.keys.keyring import init_keys
    from sqlalchemy import func, select

    import uuid

    names = load_names(shared)
    residents = [nat._resident(np.random.default_rng(7), names) for _ in range(len(enrol))]
    mix = [t for _, t in kinds["unique"]][: n - n // 10] + [t for _, t in kinds["both"]][: n // 10]
    payloads = [nat._payload(t, nat._resident(rng, names)) for t in mix]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'central.db'}"
        if pg_url:  # a fresh database on that server for this run
            import psycopg

            name = f"ktpel_cpu_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url, shared_data=shared)
        db = open_database(settings, name="central")
        init_keys(settings, side="central")
        nat.load_database(db, enrol=enrol, residents=residents)
        mirror = GalleryMirror(abis)
        if mirror.shared:
            abis.mark_synced(len(enrol))
        else:
            mirror.last_seq = len(enrol)  # the gallery already holds the population
        worker = Worker(db=db, settings=settings, mirror=mirror, worker_id="bench")

        def receive(batch: list[dict]) -> None:
            nat.receive(db, batch)

        receive(payloads[:nat.WARM_UP])
        worker.drain()
        receive(payloads[nat.WARM_UP:])
        with db.unit_of_work() as s:
            runs_before = s.scalar(select(func.max(StageRunRow.id))) or 0
        prof = cProfile.Profile(time.process_time) if profile else None
        r0 = remote_cpu() if remote_cpu else 0.0
        c0, w0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        outs = worker.drain()
        if prof:
            prof.disable()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        remote = (remote_cpu() - r0) if remote_cpu else 0.0

        with db.unit_of_work() as s:
            # each stage's wall time as the worker records it (the biometric stage's includes its search)
            stage_ms = {stage: round(ms, 1) for stage, ms in s.execute(
                select(StageRunRow.stage, func.avg(StageRunRow.duration_ms))
                .where(StageRunRow.id > runs_before, StageRunRow.ok).group_by(StageRunRow.stage))}
            decided = {r.id: r.state for r in s.scalars(select(NationalRecordRow).where(NationalRecordRow.packet_id.not_like("bench-%")))}
        outcome_by_eid = {p["enrollment_id"]: decided.get(p["enrollment_id"]) for p in payloads}
        db.dispose()
        if pg_url:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}"')
    summary: dict[str, int] = {}
    for o in outs:
        summary[o.outcome or o.status] = summary.get(o.outcome or o.status, 0) + 1
    k = max(1, len(outs))
    res = {"decisions": len(outs), "cpu_ms_per_decision": round(cpu * 1000 / k, 1),
           "shard_cpu_ms_per_decision": round(remote * 1000 / k, 1),
           "decisions_per_cpu_s": round(len(outs) / (cpu + remote), 2), "wall_decisions_per_s": round(len(outs) / wall, 2),
           "stage_wall_ms": {stage: stage_ms[stage] for stage in queue.STAGES if stage in stage_ms},
           "outcomes": summary, "outcome_seq": [outcome_by_eid[p["enrollment_id"]] for p in payloads]}
    if prof:
        res["profile"] = top_functions(prof, k)
    return res


WATCH = ("stages.py:", "worker.py:", "gallery.py:", "ray_abis.py:", "shard.py:", "mcc.py:", "engine.py:",
         "templates.py:", "compact.py:", "index.py:", "service.py:", "fellegi_sunter.py:", "queue.py:",
         "fields.py:", "crypt", "worker.py", "session.py", "{method 'execute'", "{built-in method _pickle",
         "get_objects", "serialization", "{method 'acquire'", "fusion.py:", "mcc_kernels.py:", "blocking.py:")


def top_functions(prof: cProfile.Profile, k: int, n: int = 45) -> list[str]:
    """The profile's heaviest functions by cumulative time, in ms per decision."""
    st = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (fn, line, name), (cc, nc, tt, ct, _) in st.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(fn).name}:{line}({name})"
        rows.append((ct, tt, nc, where))
    rows.sort(reverse=True)
    return [f"{ct * 1000 / k:8.1f} cum {tt * 1000 / k:7.1f} self ms/decision  {nc / k:8.1f} calls  {w}"
            for ct, tt, nc, w in rows[:n]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--probes", type=int, default=40)
    ap.add_argument("--dups", type=int, default=15)
    ap.add_argument("--decisions", type=int, default=40)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--ray", type=int, default=0, help="also run the pipeline over K Ray shard actors")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--feature-cache", type=int, default=None,
                    help="in-process gallery only: candidates' finger features kept (0: none)")
    ap.add_argument("--pg-url", default=None, help="run the pipeline on PostgreSQL (a fresh database there)")
    ap.add_argument("--images", action="store_true",
                    help="packets carry a demo recording's real images (bench/abis_national.py --images)")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--compare", type=Path)
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print(json.dumps({"load_average_at_start": os.getloadavg()}), flush=True)
    t0 = time.process_time()
    shared, rng, enrol, kinds = build(a.size, a.probes, a.dups, a.seed)
    print(json.dumps({"generate_cpu_s": round(time.process_time() - t0, 1)}), flush=True)
    if a.images:
        print(json.dumps({"packet_image_bytes": nat.use_real_images(shared)}), flush=True)

    from ktpel.biometrics.abis import BuiltinAbis
    from ktpel.biometrics.gallery import Gallery

    gallery = Gallery(indexed_positions=nat.INDEXED)
    if a.feature_cache is not None:
        gallery.feature_cache_size = a.feature_cache
    for i, t in enumerate(enrol):
        gallery.insert(f"I{i:08d}", [x.to_bytes() for x in t])
    # warm the matcher's compiled kernels outside the measurement
    warm = fresh(kinds["unique"][0][1])
    gallery.candidates(warm)
    gallery.score(warm, [f"I{0:08d}"])
    costs, answers = identify_costs(gallery, kinds)
    print(json.dumps({"identify_cpu": costs, "load_average": os.getloadavg()}), flush=True)
    pipe = pipeline_cpu(shared=shared, rng=np.random.default_rng(a.seed + 2), enrol=enrol, kinds=kinds,
                        n=a.decisions, abis=BuiltinAbis(gallery), profile=a.profile, pg_url=a.pg_url)
    for line in pipe.pop("profile", []):
        print(line)
    seq = pipe.pop("outcome_seq")
    print(json.dumps({"pipeline_inproc": pipe, "load_average": os.getloadavg()}), flush=True)
    record = {"answers": answers, "outcomes_inproc": seq}
    if a.ray:
        import ray

        from ktpel.central.abis import init_ray
        from ktpel.central.abis.ray_abis import RayAbis

        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
        init_ray(address=None, num_cpus=2)
        abis = RayAbis.start(shards=a.ray, indexed_positions=nat.INDEXED)
        print(json.dumps({"shard_code": ray.get(abis.actors[0].code_path.remote())}), flush=True)
        abis.insert_many([(f"I{i:08d}", t) for i, t in enumerate(enrol)])
        ray_answers = {}
        for kind, items in kinds.items():
            for n, (_, t) in enumerate(items):
                resp = abis.identify(fresh(t), max_candidates=6)
                ray_answers[f"{kind}{n}"] = [(c.reference_id, round(c.fused, 6)) for c in resp.candidates]
        # to 2e-6: a face index of another size sums float32 products in another order (last bits only)
        diff = {k: (answers[k], v) for k, v in ray_answers.items()
                if [r for r, _ in v] != [r for r, _ in answers[k]]
                or any(abs(x - y) > 2e-6 for (_, x), (_, y) in zip(v, answers[k]))}
        print(json.dumps({"ray_answers_identical_to_inproc": not diff, "differing": dict(list(diff.items())[:3])}),
              flush=True)
        remote = lambda: sum(ray.get([x.cpu_s.remote() for x in abis.actors]))  # noqa: E731
        rp = pipeline_cpu(shared=shared, rng=np.random.default_rng(a.seed + 2), enrol=enrol, kinds=kinds,
                          n=a.decisions, abis=abis, profile=a.profile, remote_cpu=remote, pg_url=a.pg_url)
        for line in rp.pop("profile", []):
            print(line)
        rseq = rp.pop("outcome_seq")
        rp["outcomes_identical_to_inproc"] = rseq == seq
        print(json.dumps({"pipeline_ray": rp, "shards": a.ray, "load_average": os.getloadavg()}), flush=True)
        abis.shutdown()
        ray.shutdown()
    if a.save:
        a.save.write_text(json.dumps(record), encoding="utf-8")
    if a.compare:
        before = json.loads(a.compare.read_text(encoding="utf-8"))
        same = {"answers": before["answers"] == json.loads(json.dumps(answers)),
                "outcomes": before["outcomes_inproc"] == seq}
        diff = [k for k in before["answers"] if before["answers"][k] != json.loads(json.dumps(answers)).get(k)]
        print(json.dumps({"identical_to_saved": same, "differing_answers": diff[:20]}), flush=True)


if __name__ == "__main__":
    main()
