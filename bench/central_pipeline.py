"""Recording → decision latency and sustained decisions/s of the central pipeline, by gallery size.

Run: .venv/bin/python bench/central_pipeline.py [--sizes 10000,100000,1000000] [--workers 1]
         [--burst 120] [--rate 12] [--paced-s 20]
     KTPEL_BENCH_PG_URL=postgresql://… runs on PostgreSQL (several workers; each size starts from an
     empty schema) instead of a temporary SQLite file (one worker: SQLite has one writer).

What runs is the real pipeline in real worker processes (`Worker.run_forever`, as `ktpel central
worker` runs it): intake handler → queue → validate → quality → demographic (Fellegi–Sunter) →
gallery → biometric 1:N through the ABIS contract (BuiltinAbis over the engine's Gallery: FAISS
candidates, real 1:1 face and fingerprint matchers, fusion) → decide (signed print authorisation,
event). The bench process plays the offices: it hands packets to intake, as sync does.

How the gallery is made (exactly): each worker holds `size` synthetic identities in its gallery,
built from the same seed in every worker, plus every real record of the run (through the
database, as in production).
- Face: with probability 0.27 a sample of the Gaussian fitted to all 400 ORL face embeddings,
  otherwise isotropic noise around their mean direction (weight 0.3), L2-normalised: the mixture
  whose pairs score like photos of two different ORL people (see synthetic_faces).
- Ten fingers (positions 1–10) drawn by a hash of (identity, position) from a pool of 400 grown
  fingers. A grown finger (SFinGe's method, simplified): a real FVC2002 DB1_B impression (the 80
  in turn) is mirrored left–right (the field of a finger of the other hand) and warped at random
  (scale ±15 %, rotation ±17°, elastic shift ≤ 30 px: singular points move apart); its ridge
  orientation, ridge period and foreground are measured by the engine's enhancer; a new ridge pattern is grown from random noise by eight rounds of oriented Gabor filtering along
  that field; the image goes through the real extractor (quality gate included). Minutiae
  appear where grown ridges end or split, so each is a new finger. Pools are cached in bench/out/.
  The identities' fingers are scored 1:1 by the real matcher whenever the identity is a
  candidate, but they are not in the finger index (a pool finger shared by size/40 identities
  would fill it with ties): candidates come from the face index (IVF from 200,000 faces) and the
  finger index over the real records. Identities enter through `Gallery.insert` (compact
  fingers, as production holds them) into a gallery with no indexed position, searched with the
  real records' gallery as two shards (`identify_over`, see SyntheticAndReal).
  Cost per worker (measured at 20,000 on the 2-core dev machine under load, 2026-12-03): ~4 ms
  and ~6.6 KB per identity, so 1,000,000 takes about an hour and 6.6 GB in each worker.
- The bench checks this claim first: it prints how synthetic templates score against real
  probes on the calibrated scale z = −log10 FMR (the impostor distribution measured on
  ../shared/data). Impostor-like templates give ≈ 10 % at z ≥ 1, 1 % at z ≥ 2, 0.1 % at z ≥ 3.
Probes:
- latency (idle queue): real people, ORL photo 1 of subject k and ten real FVC fingers (finger
  (7k + 3p) mod 20 at position p, impression 1), one at a time;
- burst (all queued at once) and paced (one every 1/rate s): new synthetic identities made the
  same way (fingers from a second pool, grown on FVC2000 DB4_B fields, that no gallery identity
  uses; no two probes share a finger at a position), and every 20th a second recording of a
  latency person (ORL photo 2, impression 2 of the same fingers, same demographics, another NIK):
  a planted duplicate that must reach adjudication.
- demographics: residents of a synthetic Lampung Selatan made by the project's seeding generator
  (real region codes, Indonesian names from ../shared/data), as office recording sends them.
Figures: p50/p95 recording → decision with an idle queue and under the paced load; decisions/s of
the burst (probes / wall time from the first packet handed to intake to the last decision).
Goal: p95 < 5 s and ≥ 12 decisions/s.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.abis_national: its intake, as sync's
GALLERY_FINGERS = 400
DUP_EVERY = 20


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


# -- templates -----------------------------------------------------------------------------------

class RealPool:
    """Real templates, extracted once: 20 ORL subjects × 2 photos, 20 FVC fingers × 2 impressions,
    and the mean and covariance of all 400 ORL face embeddings (for the synthetic faces)."""

    def __init__(self, shared: Path) -> None:
        from ktpel.biometrics import get_engine

        eng = get_engine()
        orl = shared / "faces" / "att_orl"
        every = {(k, ph): eng.extract_face((orl / f"s{k + 1}" / f"{ph}.pgm").read_bytes())
                 for k in range(40) for ph in range(1, 11)}
        self.faces = {key: t for key, t in every.items() if key[0] < 20 and key[1] <= 2}
        emb = np.stack([t.embedding for t in every.values()]).astype(np.float64)
        self.face_mean = emb.mean(0)
        cov = np.cov(emb - self.face_mean, rowvar=False)
        self.face_chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov)))
        self.fingers = {}
        for db_i, base in enumerate(("FVC2002_DB1_B", "FVC2000_DB4_B")):
            for f in range(10):
                for imp in (1, 2):
                    img = (shared / "fingerprints" / base / f"{101 + f}_{imp}.tif").read_bytes()
                    self.fingers[(db_i * 10 + f, imp)] = eng.extract_finger(img)
        self.model_id = self.faces[(0, 1)].model_id

    def person(self, k: int, *, second: bool = False) -> dict[str, bytes]:
        """Real person k (< 20): face k, finger (7k + 3p) mod 20 at position p; `second` = re-recording."""
        out = {"face": self.faces[(k, 2 if second else 1)].to_bytes()}
        for p in range(1, 11):
            out[f"finger_{p}"] = at_position(self.fingers[((7 * k + 3 * p) % 20, 2 if second else 1)], p)
        return out


def at_position(t, position: int) -> bytes:  # noqa: ANN001
    from ktpel.biometrics.fingerprint.synthetic import with_position

    return with_position(t, position).to_bytes()


FACE_HEAVY_SHARE = 0.27  # see synthetic_faces


def synthetic_faces(rng: np.random.Generator, n: int, *, mean: np.ndarray, chol: np.ndarray,
                    heavy_share: float = FACE_HEAVY_SHARE) -> np.ndarray:
    """n unit face vectors (float32 rows) whose pairwise cosines follow ORL's impostor distribution.

    A Gaussian fitted to the 400 ORL embeddings alone gives too heavy a tail (25 % of pairs at
    z ≥ 1, 8.6 % at z ≥ 2); isotropic noise around the mean direction (weight 0.3) too light a one
    (9 %, 0.35 %). A mixture, FACE_HEAVY_SHARE of identities from the first, matches ORL's 10 %, 1 %
    and 0.1 % at z ≥ 1, 2, 3 for pairs of synthetic identities (the bench prints what it measures)."""
    heavy = (mean + rng.standard_normal((n, len(mean))) @ chol.T)
    light = 0.3 * mean / np.linalg.norm(mean) + rng.standard_normal((n, len(mean))) / np.sqrt(len(mean))
    v = np.where((rng.random(n) < heavy_share)[:, None], heavy, light).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# -- synthetic fingers: ridges grown along a real orientation field (SFinGe's method, simplified) --

def warp(gray: np.ndarray, rng: np.random.Generator, *, shift_px: float = 30.0) -> np.ndarray:
    """Random anisotropic scale (±15 %), rotation (±17°) and a smooth elastic displacement of up to
    `shift_px`: the singular points move relative to each other, so two fingers grown from one
    source impression do not share them (they would match: same core, same delta)."""
    import cv2

    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.degrees(rng.uniform(-0.3, 0.3))), 1.0)
    m[:, :2] *= rng.uniform(0.85, 1.15, 2)[None, :]
    g = cv2.warpAffine(gray, m, (w, h), borderValue=255)
    dx, dy = (cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 40) for _ in range(2))
    dx *= shift_px / np.abs(dx).max()
    dy *= shift_px / np.abs(dy).max()
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(g, xx + dx, yy + dy, cv2.INTER_LINEAR, borderValue=255)


def grow_finger_image(gray: np.ndarray, rng: np.random.Generator, *, iterations: int = 8) -> np.ndarray:
    """Mirror and warp a real impression, take its ridge orientation, period and foreground, then
    grow a new ridge pattern from noise by repeated oriented Gabor filtering along that field. The
    minutiae appear where the grown ridges end or split: new ones each time, so a new finger."""
    from scipy import fft as sfft

    from ktpel.biometrics.fingerprint.enhance import GABOR_SIGMA, apply_bank, enhance, gabor_bank, orientation_bins

    g = warp(np.ascontiguousarray(gray[:, ::-1]), rng)
    enh = enhance(g)
    h, w = g.shape
    fft_shape = (sfft.next_fast_len(h + 32), sfft.next_fast_len(w + 32))
    q = orientation_bins(enh.theta)
    # the engine's own filters, wider (1.6×): growing ridges needs more context than enhancing them
    bank = gabor_bank(period=enh.period, sigma=1.6 * GABOR_SIGMA * enh.period, half=int(round(2.56 * enh.period)),
                      fft_shape=fft_shape, used=q)
    img = rng.standard_normal((h, w)).astype(np.float32)
    for _ in range(iterations):
        out = apply_bank(sfft.rfft2(img, s=fft_shape), bank, q, shape=(h, w), fft_shape=fft_shape)
        img = np.clip(2.0 * out / (np.std(out[enh.mask]) + 1e-6), -1, 1)
    im = np.clip(127 - 110 * img, 0, 255)
    im[~enh.mask] = 255
    return im.astype(np.uint8)


def synthetic_finger_pool(shared: Path, *, source: str, seed: int, count: int, cache: Path) -> list[bytes]:
    """`count` grown fingers (KTPB bytes, position 0) on warped fields of one FVC B set's 80
    impressions in turn; cached. Gallery and probes grow on different sets."""
    import cv2
    from rich.progress import track

    from ktpel.biometrics import get_engine
    from ktpel.biometrics.errors import BiometricError

    path = cache / f"synthetic-fingers-v3-{source}-{seed}-{count}.npy"
    sources = sorted((shared / "fingerprints" / source).glob("*.tif"))
    if path.exists():
        return [bytes(b) for b in np.load(path, allow_pickle=True)]
    eng = get_engine()
    rng = np.random.default_rng(seed)
    out: list[bytes] = []
    for k in track(range(10 * count), description=f"growing {count} synthetic fingers", transient=True):
        if len(out) == count:
            break
        gray = cv2.imread(str(sources[k % len(sources)]), cv2.IMREAD_GRAYSCALE)
        ok, png = cv2.imencode(".png", grow_finger_image(gray, rng))
        try:
            out.append(eng.extract_finger(png.tobytes()).to_bytes())
        except BiometricError:
            continue  # the quality gate refused it, as it would a bad capture
    cache.mkdir(parents=True, exist_ok=True)
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    np.save(path, arr, allow_pickle=True)
    return out


class SyntheticPeople:
    """New synthetic identities for probes: face from the fitted Gaussian, fingers from a pool no
    gallery identity uses, assigned so no two probes share a finger at the same position."""

    def __init__(self, real: RealPool, pool: list[bytes], *, seed: int) -> None:
        from ktpel.biometrics.templates import template_from_bytes

        self.real, self.pool = real, [template_from_bytes(b) for b in pool]
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def next(self) -> dict[str, bytes]:
        from ktpel.biometrics.templates import FaceTemplate

        if self.n >= len(self.pool):
            raise SystemExit("probe finger pool exhausted: raise its size")
        face = synthetic_faces(self.rng, 1, mean=self.real.face_mean, chol=self.real.face_chol)[0]
        out = {"face": FaceTemplate(face, self.real.model_id, 90.0).to_bytes()}
        for p in range(1, 11):
            out[f"finger_{p}"] = at_position(self.pool[(self.n + 37 * p) % len(self.pool)], p)
        self.n += 1
        return out


def residents(shared: Path, *, count: int, seed: int = 3) -> list[dict]:
    """Demographics of `count` residents of a synthetic Lampung Selatan: the project's seeding generator
    (real region codes, Indonesian names from ../shared/data), adults only, as office recording sends them."""
    from ktpel.reference import names, regions
    from ktpel.seeding.generator import DistrictGenerator

    today = dt.date.today()
    gen = DistrictGenerator(regions=regions(shared), regency_code="18.01", names=names(shared), seed=seed, today=today)
    out: list[dict] = []
    while len(out) < count:
        for fam in gen.families(residents=count):
            for r in fam.members:
                if r.eligible_for_card(today=today) and len(out) < count:
                    out.append({"nik": r.nik, "kk_number": r.kk_number, "name": r.name, "birth_place": r.birth_place,
                                "birth_date": r.birth_date.isoformat(), "sex": r.sex.value,
                                "village_code": r.address.village_code, "street": r.address.street,
                                "father_name": r.father_name, "mother_name": r.mother_name})
    return out


def payload(templates: dict[str, bytes], *, resident: dict, k: int) -> dict:
    eid = "B-" + uuid.uuid4().hex[:16]
    return {
        "format": "ktpel.enrollment", "version": 1, "enrollment_id": eid, "office_code": "18.01",
        "receipt_number": f"BENCH-{k:06d}", "captured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "resident": resident, "templates": {kk: _b64(v) for kk, v in templates.items()}, "images": {},
        "exceptions": {},
    }


def recorded_again(resident: dict) -> dict:
    """The same person at another counter, given another NIK (how a data-ganda pair starts)."""
    return {**resident, "nik": resident["nik"][:12] + f"{(int(resident['nik'][12:]) + 5000) % 10000:04d}"}


# -- the workers' gallery ------------------------------------------------------------------------

class SyntheticAndReal:
    """A worker's gallery: the synthetic identities in a Gallery whose finger index is empty (their
    fingers are scored 1:1 on candidates only, see the module docstring), the run's real records in an
    ordinary Gallery. Searched as two shards (`identify_over`): the answers of one gallery that holds
    both and leaves the synthetic fingers out of its index."""

    def __init__(self, synthetic) -> None:  # noqa: ANN001
        from ktpel.biometrics.gallery import Gallery

        self.synthetic, self.real = synthetic, Gallery()

    def __len__(self) -> int:
        return len(self.synthetic) + len(self.real)

    def insert(self, reference_id: str, templates) -> None:  # noqa: ANN001
        self.real.insert(reference_id, templates)

    def delete(self, reference_id: str) -> None:
        self.real.delete(reference_id)

    def identify(self, templates, *, top_k: int = 10, limit: int | None = None,  # noqa: ANN001, ANN201
                 exclude: str | None = None):
        from ktpel.biometrics.gallery import CANDIDATES, identify_over

        return identify_over([self.synthetic, self.real], templates, top_k=top_k, limit=limit or CANDIDATES,
                             exclude=exclude)


def synthetic_gallery(size: int, *, real: RealPool, finger_pool: list[bytes], seed: int = 7):  # noqa: ANN201
    """A GalleryMirror whose ABIS holds `size` synthetic identities (see the module docstring)."""
    from rich.progress import track

    from ktpel.biometrics.abis import BuiltinAbis
    from ktpel.biometrics.fingerprint.synthetic import with_position
    from ktpel.biometrics.gallery import Gallery
    from ktpel.biometrics.templates import FaceTemplate, template_from_bytes
    from ktpel.central.pipeline.gallery import GalleryMirror

    pool = [template_from_bytes(b) for b in finger_pool]
    at = {p: [with_position(t, p) for t in pool] for p in range(1, 11)}
    gallery = Gallery(indexed_positions=())  # positions 1-10 only: no synthetic finger enters the index
    rng = np.random.default_rng(seed)
    chunk = 50_000
    for start in track(range(0, size, chunk), description=f"gallery of {size} synthetic identities",
                       transient=True, disable=size <= chunk):
        vecs = synthetic_faces(rng, min(chunk, size - start), mean=real.face_mean, chol=real.face_chol)
        for j, vec in enumerate(vecs):
            i = start + j
            gallery.insert(f"S{i}", [FaceTemplate(vec, real.model_id, 90.0)]
                           + [at[p][pool_slot(i, p, len(pool))] for p in range(1, 11)])
    return GalleryMirror(BuiltinAbis(SyntheticAndReal(gallery)))


def pool_slot(identity: int, position: int, pool_size: int) -> int:
    """Which pool finger identity i has at a position: a multiplicative hash of (i, position)."""
    return ((identity * 10 + position) * 2654435761) % pool_size


class MaterialisingAbis:
    """The built-in ABIS, plus: a synthetic identity that comes back at review level or above gets
    its national record row first (in production every gallery reference has one, and an
    adjudication item points at it). Counted: these are the run's false reviews."""

    def __init__(self, inner, db) -> None:  # noqa: ANN001
        self.inner, self.db = inner, db

    def insert(self, reference_id, templates) -> None:  # noqa: ANN001
        self.inner.insert(reference_id, templates)

    def delete(self, reference_id) -> None:  # noqa: ANN001
        self.inner.delete(reference_id)

    def identify(self, templates, *, max_candidates: int = 10, exclude: str | None = None):  # noqa: ANN001, ANN201
        from ktpel.biometrics.fusion import Band

        resp = self.inner.identify(templates, max_candidates=max_candidates, exclude=exclude)
        for c in resp.candidates:
            if c.band is not Band.NO_HIT and c.reference_id.startswith("S"):
                self._materialise(c.reference_id)
        return resp

    def _materialise(self, ref: str) -> None:
        from ktpel.store.schema.central import NationalRecordRow

        with self.db.unit_of_work() as s:
            if s.get(NationalRecordRow, ref) is None:
                s.add(NationalRecordRow(
                    id=ref, packet_id="synthetic", office_code="18.71", nik=f"1871{int(ref[1:]):012d}",
                    name=f"Identitas Sintetis {ref}", birth_place="-", birth_date=dt.date(1980, 1, 1), sex="P",
                    street="", templates="{}", state="PRINT_READY"))


def worker_main(settings_dict: dict, size: int, shared: str, finger_pool: list[bytes], ready, stop) -> None:  # noqa: ANN001
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import faiss

    from ktpel.central.pipeline.worker import Worker
    from ktpel.config import Settings
    from ktpel.store.db import open_database

    faiss.omp_set_num_threads(1)
    settings = Settings(**settings_dict)
    mirror = synthetic_gallery(size, real=RealPool(Path(shared)), finger_pool=finger_pool)
    db = open_database(settings, name="central", migrate=False)
    mirror.abis = MaterialisingAbis(mirror.abis, db)
    worker = Worker(db=db, settings=settings, mirror=mirror)
    ready.put(os.getpid())
    worker.run_forever(stop=_EventProxy(stop), poll=0.05)


class _EventProxy:
    """A multiprocessing Event with threading.Event's wait/is_set (what run_forever calls)."""

    def __init__(self, ev) -> None:  # noqa: ANN001
        self.ev = ev

    def is_set(self) -> bool:
        return self.ev.is_set()

    def wait(self, timeout: float) -> bool:
        return self.ev.wait(timeout)


# -- one gallery size ----------------------------------------------------------------------------

def calibration_check(real: RealPool, gallery_pool: list[bytes], probe_pool: list[bytes]) -> dict:
    """How synthetic gallery templates score against real and synthetic probes, as z = −log10 FMR."""
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.templates import FaceTemplate, template_from_bytes

    eng = get_engine()
    cal = eng.calibration
    gal = [template_from_bytes(b) for b in gallery_pool[:40]]
    rng = np.random.default_rng(5)
    gal_faces = [FaceTemplate(v, real.model_id) for v in
                 synthetic_faces(rng, 50, mean=real.face_mean, chol=real.face_chol)]
    probes = {"real_probes": (list(real.fingers.values())[::2], list(real.faces.values())),
              "synthetic_probes": ([template_from_bytes(b) for b in probe_pool[:40]],
                                   [FaceTemplate(v, real.model_id) for v in
                                    synthetic_faces(rng, 40, mean=real.face_mean, chol=real.face_chol)])}
    out: dict = {"expected_if_impostor_like": {"z_ge_1": 0.1, "z_ge_2": 0.01, "z_ge_3": 0.001}}
    for who, (fingers, faces) in probes.items():
        zf = np.array([cal.normalise("finger", eng.compare_fingers(t, g)) for t in fingers for g in gal])
        zc = np.array([cal.normalise("face", eng.compare_faces(f, g)) for f in faces for g in gal_faces])
        out[who] = {name: _shares(z) for name, z in (("finger", zf), ("face", zc))}
    pf = probes["synthetic_probes"][0]  # probes meet each other in the gallery too
    out["probes_among_themselves"] = {"finger": _shares(np.array(
        [cal.normalise("finger", eng.compare_fingers(x, y)) for i, x in enumerate(pf) for y in pf[i + 1:]]))}
    return out


def _shares(z: np.ndarray) -> dict:
    return {"pairs": len(z), **{f"z_ge_{k}": round(float(np.mean(z >= k)), 4) for k in (1, 2, 3)}}


def run_size(size: int, *, a: argparse.Namespace, real: RealPool, shared: Path, tmp: Path,
             gallery_pool: list[bytes], probe_pool: list[bytes]) -> dict:
    from sqlalchemy import func, select

    from bench.abis_national import intake
    from ktpel.config import Settings
    from ktpel.store.db import open_database
    from ktpel.store.schema.central import NationalRecordRow, PipelineJobRow, StageRunRow
    from ktpel.keys.keyring import init_keys

    pg = os.environ.get("KTPEL_BENCH_PG_URL")
    url = pg or f"sqlite:///{tmp / f'central_{size}.db'}"
    workers = a.workers if pg else 1
    settings = Settings(data_dir=tmp / f"data_{size}", database_url=url)
    init_keys(settings, side="central")
    if pg:
        _reset_pg(url)
    db = open_database(settings, name="central")
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=worker_main, args=(settings.model_dump(), size, str(shared), gallery_pool, ready, stop))
             for _ in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=1800)
    build_s = time.perf_counter() - t0
    people = SyntheticPeople(real, probe_pool, seed=size)
    demo = residents(shared, count=a.people + a.burst + int(a.rate * a.paced_s))
    kinds: dict[str, str] = {}  # enrollment id -> expected: unique | duplicate

    def submit(templates: dict[str, bytes], *, k: int, resident: dict, kind: str) -> None:
        p = payload(templates, resident=resident, k=k)
        kinds[p["enrollment_id"]] = kind
        with db.unit_of_work() as s:
            intake(s, p)  # as sync's intake: the packet held as received, then the handler

    def finished() -> int:
        with db.unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(PipelineJobRow)
                            .where(PipelineJobRow.status.in_(("done", "dead"))))

    def wait_for(n: int, *, timeout: float = 900) -> None:
        end = time.monotonic() + timeout
        while finished() < n:
            if time.monotonic() > end:
                raise SystemExit(f"gallery {size}: only {finished()} of {n} decided in {timeout} s")
            time.sleep(0.02)

    def latencies(since: int) -> list[float]:
        with db.unit_of_work() as s:
            return [(j.finished_at - j.enqueued_at).total_seconds()
                    for j in s.scalars(select(PipelineJobRow).where(PipelineJobRow.id > since))]

    try:
        # 1. idle queue: real people one at a time
        for k in range(a.people):
            submit(real.person(k), k=k, resident=demo[k], kind="unique")
            wait_for(k + 1)
        idle = latencies(0)
        # 2. burst: all queued at once
        mark = a.people

        def next_probe(j: int) -> tuple[dict[str, bytes], dict, str]:
            if j % DUP_EVERY == DUP_EVERY - 1:
                k = (j // DUP_EVERY) % a.people
                return real.person(k, second=True), recorded_again(demo[k]), "duplicate"
            return people.next(), demo[a.people + j], "unique"

        probes = [next_probe(j) for j in range(a.burst)]
        t1 = time.perf_counter()
        for j, (tpl, res, kind) in enumerate(probes):
            submit(tpl, k=1000 + j, resident=res, kind=kind)
        wait_for(mark + a.burst)
        burst_wall = time.perf_counter() - t1
        # 3. paced: one probe every 1/rate s
        with db.unit_of_work() as s:
            last_id = s.scalar(select(func.max(PipelineJobRow.id)))
        n_paced = int(a.rate * a.paced_s)
        paced = [next_probe(a.burst + j) for j in range(n_paced)]
        t2 = time.perf_counter()
        for j, (tpl, res, kind) in enumerate(paced):
            time.sleep(max(0.0, t2 + j / a.rate - time.perf_counter()))
            submit(tpl, k=5000 + j, resident=res, kind=kind)
        wait_for(mark + a.burst + n_paced)
        under_load = latencies(last_id)
        with db.unit_of_work() as s:
            jobs = list(s.scalars(select(PipelineJobRow)))
            outcomes: dict[str, int] = {}
            dup_caught = dup_total = 0
            for j in jobs:
                outcomes[j.outcome or j.status] = outcomes.get(j.outcome or j.status, 0) + 1
                if kinds.get(j.record_id) == "duplicate":
                    dup_total += 1
                    dup_caught += j.outcome == "ADJUDICATION"
            synthetic_reviews = s.scalar(select(func.count()).select_from(NationalRecordRow)
                                         .where(NationalRecordRow.packet_id == "synthetic"))
            stage_ms = {st: round(float(ms), 1) for st, ms in s.execute(
                select(StageRunRow.stage, func.avg(StageRunRow.duration_ms)).group_by(StageRunRow.stage))}
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
        db.dispose()
    return {"size": size, "backend": "postgresql" if pg else "sqlite", "workers": workers,
            "worker_start_s": round(build_s, 1),
            "idle_p50_s": _pct(idle, 50), "idle_p95_s": _pct(idle, 95),
            "burst": a.burst, "decisions_per_s": round(a.burst / burst_wall, 2),
            "paced_rate": a.rate, "paced_n": n_paced,
            "load_p50_s": _pct(under_load, 50), "load_p95_s": _pct(under_load, 95),
            "planted_duplicates_caught": f"{dup_caught}/{dup_total}", "outcomes": outcomes,
            "gallery_identities_at_review": synthetic_reviews,
            "stage_mean_ms": stage_ms, "load_avg_1min": round(os.getloadavg()[0], 2)}


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 3) if xs else float("nan")


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (PostgreSQL only)")
    ap.add_argument("--people", type=int, default=10, help="real people for the idle-queue latency (≤ 20)")
    ap.add_argument("--burst", type=int, default=120)
    ap.add_argument("--rate", type=float, default=12.0, help="paced arrivals per second")
    ap.add_argument("--paced-s", type=float, default=10.0)
    a = ap.parse_args()
    from ktpel.config import find_shared_data

    shared = find_shared_data()
    if shared is None:
        sys.exit("../shared/data not found")
    t = time.perf_counter()
    real = RealPool(shared)
    print(f"# real templates extracted in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    cache = ROOT / "bench" / "out"
    gallery_pool = synthetic_finger_pool(shared, source="FVC2002_DB1_B", seed=7, count=GALLERY_FINGERS, cache=cache)
    n_probes = a.burst + int(a.rate * a.paced_s)
    probe_pool = synthetic_finger_pool(shared, source="FVC2000_DB4_B", seed=8, count=n_probes + 10, cache=cache)
    print(f"# synthetic fingers ready after {time.perf_counter() - t:.1f} s", file=sys.stderr)
    check = calibration_check(real, gallery_pool, probe_pool)
    print(json.dumps({"synthetic_vs_real_scores": check}))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for size in [int(x) for x in a.sizes.split(",") if x]:
            row = run_size(size, a=a, real=real, shared=shared, tmp=Path(d), gallery_pool=gallery_pool,
                           probe_pool=probe_pool)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"{'gallery':>10} {'workers':>7} {'idle p50':>9} {'idle p95':>9} {'dec/s':>7} "
          f"{'p50@rate':>9} {'p95@rate':>9} {'dups':>6}   goal: p95 < 5 s, ≥ 12 decisions/s")
    for r in rows:
        print(f"{r['size']:>10} {r['workers']:>7} {r['idle_p50_s']:>9} {r['idle_p95_s']:>9} "
              f"{r['decisions_per_s']:>7} {r['load_p50_s']:>9} {r['load_p95_s']:>9} "
              f"{r['planted_duplicates_caught']:>6}")


if __name__ == "__main__":
    main()
