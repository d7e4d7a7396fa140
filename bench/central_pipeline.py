"""Recording → decision latency and sustained decisions/s of the central pipeline, by gallery size.

Run: .venv/bin/python bench/central_pipeline.py [--sizes 10000,100000,1000000] [--probes 10]
     (KTPEL_BENCH_PG_URL=postgresql://… to run on PostgreSQL instead of a temporary SQLite file)

What runs is the real pipeline: intake handler → queue → validate → quality → demographic
(Fellegi–Sunter) → gallery → biometric 1:N through the ABIS contract (BuiltinAbis over the
engine's Gallery) → decide (signed print authorisation, event), one in-process worker.

How the gallery is made (say exactly): the national gallery holds `size` synthetic identities plus
the probes' own earlier recordings.
- Synthetic identities have a face only: a random unit vector in R^128 (SFace's dimension). Random
  unit vectors give impostor cosines ≈ N(0, 1/128), which is where the ORL impostor scores measured
  in thresholds.json lie; they are added straight into the Gallery's face index (FaceTemplate
  objects, the same FAISS IndexFlatIP the pipeline searches), not through the database.
  They carry no fingerprints: the fingerprint candidate index holds only real templates, so this
  bench under-states the finger search cost growth with size (it measures the face index's growth
  and every fixed cost of the pipeline).
- Probes are real: ORL face photo 1 of subject k and ten FVC fingers (FVC2002 DB1_B / FVC2000 DB4_B,
  20 physical fingers at 2 impressions, extracted once; position p of person k is finger (7k + 3p) mod 20,
  so people less than 20 apart share no finger at any position), i.e. real 1:1 scores on every
  candidate. Phase 1 uses people 0…P−1, the burst people P…2P−1 (P ≤ 10).
Latency is measured per probe with an idle queue (submit, worker runs it, finished_at − enqueued_at);
throughput with all probes queued at once (probes / wall time until the last decision).
Prints one JSON line per size and a summary table. Goal: p95 < 5 s and ≥ 12 decisions/s.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


class Pool:
    """Real templates, extracted once: 40 ORL faces, 20 FVC fingers × 2 impressions."""

    def __init__(self, shared: Path, *, faces: int) -> None:
        from ktpel.biometrics import get_engine

        eng = get_engine()
        self.faces = [eng.extract_face((shared / "faces" / "att_orl" / f"s{k + 1}" / "1.pgm").read_bytes()).to_bytes()
                      for k in range(min(faces, 40))]
        self.fingers: dict[tuple[int, int], bytes] = {}
        for db_i, base in enumerate(("FVC2002_DB1_B", "FVC2000_DB4_B")):
            for f in range(10):
                for imp in (1, 2):
                    img = (shared / "fingerprints" / base / f"{101 + f}_{imp}.tif").read_bytes()
                    self.fingers[(db_i * 10 + f, imp)] = eng.extract_finger(img).to_bytes()

    def templates(self, k: int) -> dict[str, bytes]:
        """Probe k: face k, fingers at positions 1–10 drawn so neighbours differ (impression 1 or 2)."""
        from ktpel.biometrics.templates import template_from_bytes

        out = {"face": self.faces[k % len(self.faces)]}
        for p in range(1, 11):
            t = template_from_bytes(self.fingers[((k * 7 + p * 3) % 20, 1 + (k // 20) % 2)])
            t.finger_position = p  # what the office's scanner adapter records
            out[f"finger_{p}"] = t.to_bytes()
        return out


def payload(templates: dict[str, bytes], *, k: int) -> dict:
    eid = "B-" + uuid.uuid4().hex[:16]
    return {
        "format": "ktpel.enrollment", "version": 1, "enrollment_id": eid, "office_code": "18.01",
        "receipt_number": f"BENCH-{k:06d}", "captured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "resident": {"nik": f"180105{1 + k % 28:02d}0590{k % 10000:04d}", "name": f"Penduduk Uji {k}",
                     "birth_place": "Kalianda", "birth_date": f"1990-05-{1 + k % 28:02d}", "sex": "L",
                     "village_code": "18.01.05.2001", "street": f"Jl. {k}", "father_name": "Ahmad",
                     "mother_name": "Siti"},
        "templates": {kk: _b64(v) for kk, v in templates.items()}, "images": {}, "exceptions": {},
    }


def synthetic_gallery(size: int, *, seed: int = 7):  # noqa: ANN201
    """A GalleryMirror whose ABIS holds `size` synthetic face-only identities (see module docstring)."""
    from ktpel.biometrics.abis import BuiltinAbis
    from ktpel.biometrics.gallery import Gallery, _Record
    from ktpel.biometrics.templates import FaceTemplate
    from ktpel.central.pipeline.gallery import GalleryMirror

    gallery = Gallery()
    rng = np.random.default_rng(seed)
    model_id = None
    chunk = 50_000
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        vecs = rng.standard_normal((n, gallery.face_dim), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        ids = np.arange(gallery._next, gallery._next + n, dtype=np.int64)
        gallery._face_index.add_with_ids(vecs, ids)
        for j in range(n):
            ref = f"S{start + j}"
            iid = int(ids[j])
            gallery._int_of[ref], gallery._ref_of[iid] = iid, ref
            gallery._records[ref] = _Record(FaceTemplate.__new__(FaceTemplate), {})
            rec = gallery._records[ref].face
            rec.embedding, rec.model_id, rec.quality = vecs[j], model_id, 90.0
        gallery._next += n
    return GalleryMirror(BuiltinAbis(gallery)), gallery


def run_size(size: int, *, probes: int, pool: Pool, tmp: Path) -> dict:
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.central.pipeline.worker import Worker
    from ktpel.config import Settings
    from ktpel.store.db import open_database
    from ktpel.store.schema.central import PipelineJobRow
    from ktpel.sync.keys import init_keys
    from sqlalchemy import select

    url = os.environ.get("KTPEL_BENCH_PG_URL") or f"sqlite:///{tmp / f'central_{size}.db'}"
    settings = Settings(data_dir=tmp / f"data_{size}", database_url=url)
    init_keys(settings, side="central")
    db = open_database(settings, name="central")
    t0 = time.perf_counter()
    mirror, gallery = synthetic_gallery(size)
    # the synthetic faces need the engine's model id to compare with real probes
    model_id = pool_model_id(pool)
    for rec in gallery._records.values():
        if rec.face is not None and rec.face.model_id is None:
            rec.face.model_id = model_id
    build_s = time.perf_counter() - t0
    worker = Worker(db=db, settings=settings, mirror=mirror, worker_id=f"bench-{size}")

    def submit(k: int) -> None:
        p = payload(pool.templates(k), k=k)
        with db.unit_of_work() as s:
            handle_enrollment(s, packet_id=uuid.uuid4().hex, office_code="18.01", kind="enrollment",
                              subject_id=p["enrollment_id"], payload=p)

    # 1. latency with an idle queue
    lat = []
    for k in range(probes):
        submit(k)
        worker.drain()
    with db.unit_of_work() as s:
        for j in s.scalars(select(PipelineJobRow)):
            lat.append((j.finished_at - j.enqueued_at).total_seconds())
    # 2. sustained throughput: a burst of other people (distinct faces; fingers distinct while k < 20)
    for k in range(probes):
        submit(k + probes)
    t1 = time.perf_counter()
    done = worker.drain()
    wall = time.perf_counter() - t1
    from sqlalchemy import func

    from ktpel.store.schema.central import StageRunRow

    with db.unit_of_work() as s:
        outcomes: dict[str, int] = {}
        for j in s.scalars(select(PipelineJobRow)):
            outcomes[j.outcome or j.status] = outcomes.get(j.outcome or j.status, 0) + 1
        stage_ms = {st: round(float(ms), 1) for st, ms in s.execute(
            select(StageRunRow.stage, func.avg(StageRunRow.duration_ms)).group_by(StageRunRow.stage))}
    db.dispose()
    return {"size": size, "gallery_build_s": round(build_s, 1), "probes": probes,
            "latency_p50_s": round(float(np.percentile(lat, 50)), 3),
            "latency_p95_s": round(float(np.percentile(lat, 95)), 3),
            "decisions_per_s": round(len(done) / wall, 2), "outcomes": outcomes, "stage_mean_ms": stage_ms,  # biometric includes its search
            "backend": "postgresql" if url.startswith("postgresql") else "sqlite"}


def pool_model_id(pool: Pool) -> str:
    from ktpel.biometrics.templates import template_from_bytes

    return template_from_bytes(pool.faces[0]).model_id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--probes", type=int, default=10, help="≤ 10: the pool has 20 distinct finger sets")
    a = ap.parse_args()
    from ktpel.config import find_shared_data

    shared = find_shared_data()
    if shared is None:
        sys.exit("../shared/data not found")
    t = time.perf_counter()
    pool = Pool(shared, faces=2 * a.probes)
    print(f"# real templates extracted in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for size in [int(x) for x in a.sizes.split(",") if x]:
            row = run_size(size, probes=a.probes, pool=pool, tmp=Path(d))
            print(json.dumps(row))
            rows.append(row)
    print(f"{'gallery':>10} {'p50 s':>8} {'p95 s':>8} {'dec/s':>8}   goal: p95 < 5 s, ≥ 12 decisions/s")
    for r in rows:
        print(f"{r['size']:>10} {r['latency_p50_s']:>8} {r['latency_p95_s']:>8} {r['decisions_per_s']:>8}")


if __name__ == "__main__":
    main()
