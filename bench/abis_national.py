"""National ABIS on Ray shards: a chimeric synthetic population, 1/2/4 shard actors, the issue-15 figures.

Run: nice OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/abis_national.py [--size 20000] [--shards 1,2,4]
         [--probes 300] [--dups 100] [--pipeline 120] [--workers 2 --pg-url URL] [--pipeline-gallery both] [--images]
         [--pipeline-face-only 100]
         [--chart PATH]  (a PNG: identify p50/p95 by shard count, decisions/s by gallery against 12/s)

The population (how it is made, exactly):
- Face: the mixture of bench/central_pipeline.py (`synthetic_faces`): with probability 0.27 a sample of the
  Gaussian fitted to the 400 ORL embeddings, else isotropic noise around their mean direction; pairs of
  synthetic identities score like photos of two different ORL people (heavy share 0.2: see face_model). A
  second photo of the same face is normalise(x + σ·n/√128) with σ = sqrt(1/μ² − 1), μ drawn from the
  cosines of ORL's genuine pairs (median 0.85, 1 % below 0.48), not their mean: a fixed μ = 0.821 made
  every second photo an easy z ≈ 7.3–8 while real ones spread from z 4 to 12.
- Fingers: every identity has its own FINGERS fingers (positions 1, 2, 6, 7: thumbs and index fingers),
  made by fpindex's template-level generator (`ktpel.biometrics.fingerprint.synthetic`: minutiae drawn
  along real FVC orientation fields; a master finger per identity and position, and an impression of it
  for the enrolment, another for each re-recording). Only positions INDEXED (default 1, 2, 6, 7: thumbs and
  index fingers; --indexed 1,6 for the thumbs alone) are in the LSH finger index; the others are
  scored 1:1 on candidates. (A placeholder stood in
  until that generator landed; it is gone.) `--recapture 1,6`: the office's counter refuses a thumb with
  fewer than 15 minutiae (`ktpel.domain.identifying_fingers`), so each capture of those
  positions, enrolment or probe, is taken again while below 15, up to 3 captures, keeping the one with the
  most minutiae; the bench prints how many were taken again and how many stayed below (the ones a
  supervisor would accept).
- The check (as the current bench does it): impostor score rates at z ≥ 1/2/3 for synthetic vs synthetic
  and synthetic vs real (FVC / ORL) pairs; ideal 10 % / 1 % / 0.1 %.
Probes (none shares a finger with another probe):
- unique: new identities (FPIR = share sent to adjudication);
- finger-only duplicates: a new face, new impressions of an enrolled identity's fingers;
- face-only: another photo of an enrolled identity's face, new fingers (must reach review);
- both: another photo and new impressions.
A probe "reaches a person" when a candidate is in the review or hit band or is a modality conflict
(`ktpel.central.pipeline.conflict`, the rule the pipeline's decide stage applies).
For each shard count: insert rate (bulk, through `RayAbis.insert_many`), memory per identity (the shard
processes' resident memory growth ÷ identities, and the gallery's own per-part account), identify p50/p95,
answers identical to the 1-shard run, the outcomes above; then decisions/s through the real pipeline
(intake → validate → quality → demographic → gallery → biometric on the Ray shards → decide: one worker
on SQLite, or `--workers N` worker processes on PostgreSQL (`--pg-url`), each joining the Ray cluster and
attaching to the shards by name as `ktpel central worker` does) and the rebuild time of one shard from the central database (records with encrypted templates).
`--pipeline-gallery inproc` (or `both`) runs the same packets with each worker holding its own in-process
gallery, loaded from the database in the warm-up (one machine without Ray; Ray shut down first).
`--images`: every packet carries a demo recording's real images (otherwise none), as production's do.
`--pipeline-face-only N`: the first N face-only duplicates also go through the pipeline as a resident recorded
twice would (the mate's name, birth date and parents, another regency's NIK), last (timed with the rest): the
demographic stage names the mate and its face is weighed against those few records (`demographic_face`);
prints how many reach a person, against the same probes' face-alone figure above. After each pipeline run,
every unique person sent to a person is printed with the reasons, and `unique_with_a_named_stranger`: how
many unique people had strangers their data name (probability ≥ 0.9), those strangers' faces at z ≥ 2 / 3 / 4,
and how many cleared `demographic_face`'s bar (z 4 + log10 of the records named): that rule's exposure.
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
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
from ktpel.domain.identifying_fingers import IDENTIFYING_MIN_MINUTIAE  # noqa: E402

POSITIONS = (1, 2, 6, 7)
# Fingers in the LSH index (--indexed). With the two thumbs only, the index missed 13 of 150 finger-only
# duplicates at 3,000 identities (the mate's thumbs both poorly captured); with thumbs and index
# fingers, 1 of 150 (bench run of 2026-12-03, docs/abis-sizing.md).
INDEXED = (1, 2, 6, 7)
INDEXED_PER_IDENTITY: int | None = None  # --indexed-per-identity 2: the best two of INDEXED per identity
TRIANGLES: tuple[int, ...] | None = None  # --triangles: positions in the triangle index (default the gallery's)
# --recapture 1,6: at these positions a capture with fewer than RECAPTURE_MINUTIAE minutiae is taken again,
# up to RECAPTURE_ATTEMPTS captures in all, keeping the one with the most (what the office's counter asks
# of its operator at the thumbs: office.enrollment.policy); the default, none, takes every first capture.
RECAPTURE: tuple[int, ...] = ()
RECAPTURE_MINUTIAE = IDENTIFYING_MIN_MINUTIAE
RECAPTURE_ATTEMPTS = 3
RECAPTURED = {"captures": 0, "retaken": 0, "still_few": 0}
GENUINE_FACE_COS = 0.821
FACE_HEAVY_SHARE = 0.2
OUT = ROOT / "bench" / "out"
WARM_UP = 4  # packets decided before the pipeline clock starts


# -- real material (cached) ------------------------------------------------------------------------

def real_material(shared: Path) -> dict:
    """ORL embeddings (400) and FVC templates (80 + 80 impressions), extracted once and cached."""
    cache = OUT / "abis_real.npz"
    if cache.is_file():
        d = np.load(cache, allow_pickle=True)
        return {"faces": d["faces"], "fingers": list(d["fingers"]), "model_id": str(d["model_id"])}
    from ktpel.biometrics import get_engine

    eng = get_engine()
    orl = shared / "faces" / "att_orl"
    ts = [eng.extract_face((orl / f"s{k}" / f"{p}.pgm").read_bytes()) for k in range(1, 41) for p in range(1, 11)]
    faces = np.stack([t.embedding for t in ts]).astype(np.float32)
    fingers = []
    for base in ("FVC2002_DB1_B", "FVC2000_DB4_B"):
        for f in range(101, 111):
            for i in range(1, 9):
                fingers.append(eng.extract_finger((shared / "fingerprints" / base / f"{f}_{i}.tif").read_bytes()).to_bytes())
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(cache, faces=faces, fingers=np.array(fingers, dtype=object), model_id=ts[0].model_id)
    return {"faces": faces, "fingers": fingers, "model_id": ts[0].model_id}


def face_model(faces: np.ndarray):  # noqa: ANN201
    """Synthetic identities' faces: bench/central_pipeline.py's mixture with FACE_HEAVY_SHARE heavy ones.

    0.27 there matches ORL at z ≥ 1/2 but its tail is too heavy (z ≥ 3: 0.22 %, z ≥ 4: 0.034 %, against
    ORL's 0.12 % and 0.003 %: strangers unrealistically close); 0.2 gives 10.8 / 1.3 / 0.14 / 0.021 %
    (bench prints its own check)."""
    from bench.central_pipeline import synthetic_faces

    emb = faces.astype(np.float64)
    mean = emb.mean(0)
    chol = np.linalg.cholesky(np.cov(emb - mean, rowvar=False) + 1e-6 * np.eye(emb.shape[1]))
    return lambda rng, n: synthetic_faces(rng, n, mean=mean, chol=chol, heavy_share=FACE_HEAVY_SHARE)


def genuine_face_cosines(faces: np.ndarray) -> np.ndarray:
    """Cosines of every pair of ORL photos of the same person (40 people × 10 photos)."""
    f = faces.astype(np.float64)
    lab = np.arange(len(f)) // 10
    iu = np.triu_indices(len(f), 1)
    same = lab[iu[0]] == lab[iu[1]]
    return (f @ f.T)[iu][same]


def second_photo(rng: np.random.Generator, x: np.ndarray, *, genuine: np.ndarray | None = None) -> np.ndarray:
    """Another photo of the same faces: its cosine with the first drawn from ORL's genuine pairs
    (median 0.85, 1 % below 0.48: pose, light, age), or GENUINE_FACE_COS for every row without them."""
    mu = (rng.choice(genuine, size=len(x)) if genuine is not None else np.full(len(x), GENUINE_FACE_COS))
    sigma = np.sqrt(1 / np.clip(mu, 0.05, 0.999) ** 2 - 1)[:, None]
    v = x + sigma * rng.standard_normal(x.shape) / np.sqrt(x.shape[-1])
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


# -- fingers -----------------------------------------------------------------------------------------

class Fingers:
    """Master fingers (one per identity and position) and impressions of them."""

    def __init__(self, real_fingers: list[bytes], *, seed: int) -> None:
        from ktpel.biometrics.templates import template_from_bytes

        from ktpel.biometrics.fingerprint import synthetic

        self.real = [template_from_bytes(b) for b in real_fingers]
        self.syn = synthetic
        self.bank = synthetic.FieldBank.from_templates(self.real)
        self.rng = np.random.default_rng(seed)

    def masters(self, n: int):  # noqa: ANN201
        return self.syn.make_masters(self.bank, self.rng, n)

    def impressions(self, masters, rng: np.random.Generator, *, retake: bool = False) -> list:  # noqa: ANN001
        """One capture of each master; with `retake`, a poor one is taken again (see RECAPTURE)."""
        out = self.syn.impress(self.bank, masters, rng)
        if not retake:
            return out
        RECAPTURED["captures"] += len(out)
        for _ in range(RECAPTURE_ATTEMPTS - 1):
            few = np.array([k for k, t in enumerate(out) if len(t.minutiae) < RECAPTURE_MINUTIAE], dtype=np.int64)
            if not len(few):
                break
            RECAPTURED["retaken"] += len(few)
            again = self.syn.impress(self.bank, subset(masters, few), rng)
            for k, t in zip(few, again):
                if len(t.minutiae) > len(out[k].minutiae):
                    out[k] = t
        RECAPTURED["still_few"] += sum(len(t.minutiae) < RECAPTURE_MINUTIAE for t in out)
        return out


def subset(masters, idx):  # noqa: ANN001, ANN201
    """Rows idx of a batch of master fingers (or of an array)."""
    if isinstance(masters, np.ndarray):
        return masters[idx]
    fields = type(masters).__dataclass_fields__
    return type(masters)(*(getattr(masters, f)[idx] for f in fields))


def positioned(t, p: int):  # noqa: ANN001, ANN201
    from ktpel.biometrics.templates import FingerTemplate

    return FingerTemplate(t.minutiae, t.width, t.height, t.ppi, p, t.quality, t.orientation, t.orientation_block)


# -- the population ---------------------------------------------------------------------------------

class Population:
    """N identities: a face vector and a master finger per position; enrolment templates on demand."""

    def __init__(self, n: int, *, faces, fingers: Fingers, seed: int, model_id: str) -> None:  # noqa: ANN001
        self.n = n
        rng = np.random.default_rng(seed)
        self.face = faces(rng, n)
        self.fingers = fingers
        self.masters = {p: fingers.masters(n) for p in POSITIONS}
        self.model_id = model_id

    def _face(self, vec: np.ndarray):  # noqa: ANN202
        from ktpel.biometrics.templates import FaceTemplate

        return FaceTemplate(vec.astype(np.float32), self.model_id, 80.0)

    _sub = staticmethod(subset)

    def templates(self, idx: np.ndarray, *, rng: np.random.Generator, face: np.ndarray | None = None,
                  other_masters: dict | None = None) -> list[list]:
        """Templates of identities idx: `face` replaces the faces, `other_masters` the fingers."""
        faces = self.face[idx] if face is None else face
        per_pos = {}
        for p in POSITIONS:
            ms = other_masters[p] if other_masters is not None else self._sub(self.masters[p], idx)
            per_pos[p] = self.fingers.impressions(ms, rng, retake=p in RECAPTURE)
        return [[self._face(faces[k])] + [positioned(per_pos[p][k], p) for p in POSITIONS] for k in range(len(idx))]


def calibration_check(pop: Population, real: dict, faces, rng: np.random.Generator, pairs: int = 1500) -> dict:  # noqa: ANN001
    """Impostor z rates (≥ 1/2/3) of synthetic vs synthetic and synthetic vs real; genuine mean z."""
    from ktpel.biometrics import get_engine
    from ktpel.biometrics.templates import template_from_bytes

    eng = get_engine()
    cal = eng.calibration
    idx = rng.choice(pop.n, size=min(pop.n, 2 * pairs), replace=pop.n < 2 * pairs)
    a = pop.templates(idx[:pairs], rng=rng)
    b = pop.templates(idx[pairs:2 * pairs], rng=rng)
    mates = pop.templates(idx[:pairs], rng=rng)
    real_f = [template_from_bytes(x) for x in real["fingers"]]
    zs = {"finger syn-syn": [], "finger syn-real": [], "finger genuine syn": [], "face syn-syn": [],
          "face syn-real": [], "face genuine syn": []}
    for k in range(min(len(a), len(b))):
        if a[k] is b[k]:
            continue
        zs["finger syn-syn"].append(cal.normalise("finger", eng.compare_fingers(a[k][1], b[k][1])))
        zs["finger syn-real"].append(cal.normalise("finger", eng.compare_fingers(a[k][1], real_f[k % len(real_f)])))
        zs["finger genuine syn"].append(cal.normalise("finger", eng.compare_fingers(a[k][1], mates[k][1])))
        zs["face syn-syn"].append(cal.normalise("face", float(a[k][0].embedding @ b[k][0].embedding)))
        rf = real["faces"][k % len(real["faces"])]
        zs["face syn-real"].append(cal.normalise("face", float(a[k][0].embedding @ rf)))
        g = second_photo(rng, a[k][0].embedding[None, :], genuine=genuine_face_cosines(real["faces"]))[0]
        zs["face genuine syn"].append(cal.normalise("face", float(a[k][0].embedding @ g)))
    out = {}
    for key, v in zs.items():
        v = np.array(v)
        out[key] = ({"mean_z": round(float(v.mean()), 2), "z>=3": round(float((v >= 3).mean()), 4)}
                    if "genuine" in key else
                    {f"z>={t}": round(float((v >= t).mean()), 4) for t in (1, 2, 3)})
    return out


# -- outcomes ---------------------------------------------------------------------------------------

def reaches_person(resp, *, gallery_size: int) -> tuple[bool, str | None]:  # noqa: ANN001
    """Adjudication? and why (the decide stage's rule: `conflict.person_reason`, bands moved with N)."""
    from ktpel.biometrics import get_engine
    from ktpel.central.pipeline.conflict import person_reason

    cal = get_engine().calibration
    for c in resp.candidates:
        reason, kind = person_reason(c.normalised, fused=c.fused, fuse=cal.fuse, review_z=cal.review_z,
                                     hit_z=cal.hit_z, gallery_size=gallery_size,
                                     finger_measured_z=cal.modalities["finger"].measured_z)
        if reason is not None:
            return True, kind or reason
    return False, None


def candidate_ranks(abis, templates: list, target: str) -> dict:  # noqa: ANN001
    """The mate's rank among each index's merged proposals (None: not proposed)."""
    import ray

    from ktpel.biometrics.gallery import CANDIDATES, LEAD, LEAD_TRIANGLES, merge_top, modality_limit
    from ktpel.central.abis.ray_abis import _blobs

    merged: dict[str, dict[str, float]] = {}
    for props in ray.get([a.candidates.remote(_blobs(templates), CANDIDATES) for a in abis.actors]):
        for modality, lst in props.items():
            for sc, ref in ([] if modality in (LEAD, LEAD_TRIANGLES) else lst):
                merged.setdefault(modality, {})[ref] = sc
    out = {}
    for modality in ("face", "finger", "finger_triangles"):
        order = [r for _, r in merge_top(merged.get(modality, {}).items(), modality_limit(modality, CANDIDATES))]
        out[modality] = order.index(target) if target in order else None
    return out


def explain(abis, *, kind: str, n: int, target: str | None, templates: list, resp, reason: str | None,  # noqa: ANN001
            gallery_size: int) -> dict:
    """Why a unique person reached a person, or why a planted duplicate was missed."""
    best = resp.candidates[0] if resp.candidates else None
    out = {"kind": kind, "n": n, "minutiae": [len(f.minutiae) for f in templates[1:]]}
    if target is None:
        out.update(reason=reason, fused=round(best.fused, 2) if best else None,
                   scores={k: round(v, 2) for k, v in best.normalised.items()} if best else {})
        return out
    props = candidate_ranks(abis, templates, target)
    mate = [c for c in resp.candidates if c.reference_id == target]
    if not any(r is not None for r in props.values()):
        why = "index_miss"  # neither the face nor the finger index proposed the mate
    elif not mate:
        why = "outscored"
    else:
        why = "below_threshold"
    out.update(why=why, ranks=props, mate=({k: round(v, 2) for k, v in mate[0].normalised.items()}
                                            | {"fused": round(mate[0].fused, 2)}) if mate else None)
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q)) if xs else float("nan")


def run_shards(k: int, *, pop: Population, enrol: list, probes: dict, ray_mod, batch: int) -> dict:  # noqa: ANN001
    from ktpel.central.abis.ray_abis import RayAbis

    abis = RayAbis.start(shards=k, indexed_positions=INDEXED, indexed_per_identity=INDEXED_PER_IDENTITY,
                         triangle_positions=TRIANGLES)
    base = sum(ray_mod.get([a.rss_mb.remote() for a in abis.actors]))
    t0 = time.perf_counter()
    for s in range(0, len(enrol), batch):
        abis.insert_many([(f"I{i:08d}", enrol[i]) for i in range(s, min(len(enrol), s + batch))])
    insert_s = time.perf_counter() - t0
    rss = sum(ray_mod.get([a.rss_mb.remote() for a in abis.actors]))
    parts = ray_mod.get(abis.actors[0].bytes_per_identity.remote())
    res = {"shards": k, "identities": len(enrol), "insert_per_s": round(len(enrol) / insert_s, 1),
           "rss_growth_mb": round(rss - base, 1),
           "memory_per_identity_bytes": round((rss - base) * 2**20 / len(enrol)),
           "gallery_bytes_per_identity": {p: round(v) for p, v in parts.items()} if parts else {},
           "latency_ms": [], "answers": {}, "outcomes": {}, "why": []}
    for kind, items in probes.items():
        hits = 0
        for n, (target, t) in enumerate(items):
            t1 = time.perf_counter()
            resp = abis.identify(t, max_candidates=6)
            res["latency_ms"].append((time.perf_counter() - t1) * 1000)
            res["answers"][f"{kind}{n}"] = [(c.reference_id, round(c.fused, 6)) for c in resp.candidates]
            adj, conflict = reaches_person(resp, gallery_size=len(enrol))
            if DUMP is not None:
                dump_candidates(DUMP, shards=k, kind=kind, n=n, target=target, resp=resp)
            found = target is not None and any(c.reference_id == target for c in resp.candidates) and adj
            hits += int(adj if target is None else found)
            if (target is None and adj) or (target is not None and not found):
                res["why"].append(explain(abis, kind=kind, n=n, target=target, templates=t, resp=resp,
                                          reason=conflict, gallery_size=len(enrol)))
        res["outcomes"][kind] = (hits, len(items))
    lat = res.pop("latency_ms")
    res["identify_p50_ms"], res["identify_p95_ms"] = round(pct(lat, 50), 1), round(pct(lat, 95), 1)
    res["abis"] = abis
    return res


# -- the real pipeline over the shards ----------------------------------------------------------------

_SERIALS: dict[str, int] = {}  # NIK prefix (district, birth date, sex) -> the last serial given


def _resident(rng: np.random.Generator, names: dict) -> dict:
    """A synthetic resident of district 18.01.05; the NIK's serial counts up per birth date and sex, as the
    real one does, so no two residents share a NIK (a shared one goes to a person: it would count as FPIR)."""
    sex = "L" if rng.random() < 0.5 else "P"
    first = names["first_male" if sex == "L" else "first_female"]
    last = names["last_male" if sex == "L" else "last_female"]
    born = dt.date(1950, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 55)))
    day = born.day + (40 if sex == "P" else 0)
    prefix = f"180105{day:02d}{born.month:02d}{born.year % 100:02d}"
    _SERIALS[prefix] = _SERIALS.get(prefix, 0) + 1
    return {"nik": f"{prefix}{_SERIALS[prefix]:04d}",
            "name": f"{rng.choice(first)} {rng.choice(last)}".upper(), "birth_place": "KALIANDA",
            "birth_date": born.isoformat(), "sex": sex, "street": "JL. RAYA 1", "village_code": "18.01.05.2001",
            "father_name": str(rng.choice(names["first_male"])).upper(),
            "mother_name": str(rng.choice(names["first_female"])).upper()}


# --images: every packet carries the images a demo recording carries (the files themselves: an ORL face,
# ten FVC fingerprint TIFFs, ~1.5 MB), so what the pipeline reads and decrypts a decision is a real
# packet's; without it, none (the figures of runs A-K).
IMAGES: dict[str, str] = {}
IMAGE_TYPES: dict[str, str] = {}


def use_real_images(shared: Path) -> int:
    """Fill IMAGES from the reference data; returns the images' bytes."""
    files = {"face": shared / "faces" / "att_orl" / "s1" / "1.pgm"}
    fvc = sorted((shared / "fingerprints" / "FVC2002_DB1_B").glob("*.tif"))
    files.update({f"finger_{k}": fvc[k - 1] for k in range(1, 11)})
    raw = {kind: f.read_bytes() for kind, f in files.items()}
    IMAGES.update({kind: base64.b64encode(b).decode("ascii") for kind, b in raw.items()})
    IMAGE_TYPES.update({kind: "image/x-portable-graymap" if kind == "face" else "image/tiff" for kind in raw})
    return sum(len(b) for b in raw.values())


def _payload(templates: list, resident: dict) -> dict:
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    tpl = {"face": b64(templates[0].to_bytes())}
    tpl.update({f"finger_{t.finger_position}": b64(t.to_bytes()) for t in templates[1:]})
    missing = {f"finger_{p}": {"reason": "amputated", "note": "bench: 4 fingers"} for p in range(1, 11)
               if p not in POSITIONS}
    eid = "E-" + uuid.uuid4().hex[:16]
    return {"format": "ktpel.enrollment", "version": 1, "enrollment_id": eid, "office_code": "18.01",
            "receipt_number": "BNCH-" + eid[-8:], "captured_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "operator": "bench", "approved_by": None,
            "resident": {**resident, "kk_number": "1801050101900001", "blood_type": "O", "rt": "001", "rw": "002",
                         "religion": "Islam", "marital_status": "Kawin", "occupation": "Petani", "citizenship": "WNI",
                         "family_role": "Kepala Keluarga", "regency_code": "18.01", "district_code": "18.01.05"},
            "quality": {}, "exceptions": missing, "templates": tpl, "images": dict(IMAGES),
            "image_types": dict(IMAGE_TYPES)}


def load_database(db, *, enrol: list, residents: list[dict]) -> float:  # noqa: ANN001
    """The population as national records (templates encrypted, as validate stores them); seconds."""
    from ktpel.central.dedup.blocking import index_name
    from ktpel.central.dedup.phonetic import name_key
    from ktpel.store.schema.central import CentralCounterRow, NationalRecordRow

    t0 = time.perf_counter()
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    for s in range(0, len(enrol), 2000):
        with db.unit_of_work() as session:
            for i in range(s, min(len(enrol), s + 2000)):
                r, t = residents[i], enrol[i]
                tpl = {"face": b64(t[0].to_bytes()), **{f"finger_{f.finger_position}": b64(f.to_bytes()) for f in t[1:]}}
                session.add(NationalRecordRow(
                    id=f"I{i:08d}", packet_id=f"bench-{i}", office_code="18.01", nik=r["nik"], name=r["name"],
                    birth_place=r["birth_place"], birth_date=dt.date.fromisoformat(r["birth_date"]), sex=r["sex"],
                    street=r["street"], village_code=r["village_code"], father_name=r["father_name"],
                    mother_name=r["mother_name"], name_key=name_key(r["name"]), templates=json.dumps(tpl),
                    state="PRINT_READY", gallery_seq=i + 1))
            session.flush()
            for i in range(s, min(len(enrol), s + 2000)):
                index_name(session, record_id=f"I{i:08d}", name=residents[i]["name"],
                           birth_year=int(residents[i]["birth_date"][:4]))
    with db.unit_of_work() as session:
        session.merge(CentralCounterRow(name="gallery_seq", value=len(enrol)))
    return time.perf_counter() - t0


def receive(db, batch: list[dict]) -> None:  # noqa: ANN001
    """Packets into central's intake, one transaction each, as the sync route stores them: the packet held as
    received (sync's copy), then the pipeline's handler (the envelope's signature and decryption left out)."""
    for p in batch:
        with db.unit_of_work() as s:
            intake(s, p)


def intake(s, p: dict) -> None:  # noqa: ANN001
    """One packet into a central session as sync's intake stores it (see receive)."""
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.central.sync.intake import hold_packet
    from ktpel.domain.clock import now

    pid, at = uuid.uuid4().hex, now()
    hold_packet(s, packet_id=pid, office_code="18.01", kind="enrollment", subject_id=p["enrollment_id"], payload=p,
                created_at=at, received_at=at, receipt={"packet_id": pid})
    handle_enrollment(s, packet_id=pid, office_code="18.01", kind="enrollment", subject_id=p["enrollment_id"],
                      payload=p)


def _shard_cpu(abis) -> float:  # noqa: ANN001
    """The Ray shard actors' process CPU seconds (0 for an in-process gallery: its CPU is the worker's)."""
    if abis is None:
        return 0.0
    import ray

    return sum(ray.get([a.cpu_s.remote() for a in abis.actors]))


def pipeline_decisions(*, db, settings, abis, payloads: list[dict]) -> dict:  # noqa: ANN001
    """One worker in this process; `abis` None: its own in-process gallery, which its first refresh loads
    from the database (every record; done in the warm-up, not timed)."""
    from ktpel.biometrics.abis import BuiltinAbis
    from ktpel.central.pipeline.gallery import GalleryMirror
    from ktpel.central.pipeline.worker import Worker

    worker = Worker(db=db, settings=settings, mirror=GalleryMirror(abis or BuiltinAbis()), worker_id="bench")

    # steady state: the first few decisions train the demographic model and compile kernels (one-off)
    receive(db, payloads[:WARM_UP])
    worker.drain()
    shard_cpu = lambda: _shard_cpu(abis)  # noqa: E731
    t0, c0, r0 = time.perf_counter(), time.process_time(), shard_cpu()
    receive(db, payloads[WARM_UP:])  # intake counted, as before
    outs = worker.drain()
    wall = time.perf_counter() - t0
    cpu, remote = time.process_time() - c0, shard_cpu() - r0
    summary: dict[str, int] = {}
    for o in outs:
        summary[o.outcome or o.status] = summary.get(o.outcome or o.status, 0) + 1
    k = max(1, len(outs))
    # CPU (worker process + shard processes) per decision: what a shared machine's wall time hides
    return {"decisions": len(outs), "seconds": round(wall, 1), "decisions_per_s": round(len(outs) / wall, 2),
            "worker_cpu_ms_per_decision": round(cpu * 1000 / k, 1),
            "shard_cpu_ms_per_decision": round(remote * 1000 / k, 1), "outcomes": summary,
            "outcome_seq": [o.outcome or o.status for o in outs]}


def _worker_process(settings_dict: dict, stop) -> None:  # noqa: ANN001
    """One pipeline worker process, as `ktpel central worker` runs it: it joins the Ray cluster and attaches to
    the shards by name (settings.abis = ray://ADDRESS), and claims jobs with SKIP LOCKED beside the others."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from ktpel.central.pipeline.worker import Worker
    from ktpel.config import Settings
    from ktpel.store.db import open_database

    settings = Settings(**settings_dict)
    db = open_database(settings, name="central", migrate=False)

    class _Stop:  # a multiprocessing Event with threading.Event's wait/is_set (what run_forever calls)
        is_set = stop.is_set
        wait = stop.wait

    Worker(db=db, settings=settings).run_forever(stop=_Stop(), poll=0.02)


def _proc_cpu_s(pid: int) -> float:
    import psutil

    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return t.user + t.system


def pipeline_decisions_in_processes(*, db, settings, abis, payloads: list[dict], workers: int,  # noqa: ANN001
                                    ray_address: str | None) -> dict:
    """`pipeline_decisions` with N worker processes on PostgreSQL, the production shape (one worker uses one core
    at a time: its stages run one after another). `ray_address` None: each worker keeps its own in-process
    gallery (`ktpel central worker` on one machine without Ray), loaded from the database in the warm-up."""
    import multiprocessing as mp

    from sqlalchemy import func, select

    from ktpel.store.schema.central import PipelineJobRow

    def finished() -> int:
        with db.unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(PipelineJobRow)
                            .where(PipelineJobRow.status.in_(("done", "dead"))))

    def wait_for(n: int, timeout: float = 1800) -> None:
        end = time.monotonic() + timeout
        while finished() < n:
            if time.monotonic() > end:
                raise RuntimeError(f"pipeline stuck at {finished()} of {n} jobs")
            time.sleep(0.05)

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    child = settings.model_copy(update={"abis": f"ray://{ray_address}" if ray_address else "inproc"}).model_dump()
    procs = [ctx.Process(target=_worker_process, args=(child, stop)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    try:
        receive(db, payloads[:WARM_UP * workers])  # every worker trains its model and compiles its kernels first
        wait_for(WARM_UP * workers)
        shard_cpu = lambda: _shard_cpu(abis)  # noqa: E731
        t0, r0 = time.perf_counter(), shard_cpu()
        c0 = sum(_proc_cpu_s(proc.pid) for proc in procs)
        receive(db, payloads[WARM_UP * workers:])
        wait_for(len(payloads))
        wall = time.perf_counter() - t0
        cpu = sum(_proc_cpu_s(proc.pid) for proc in procs) - c0
        remote = shard_cpu() - r0
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=30)
    with db.unit_of_work() as s:
        rows = s.execute(select(PipelineJobRow.outcome, PipelineJobRow.status)
                         .order_by(PipelineJobRow.id).offset(WARM_UP * workers)).all()
    summary: dict[str, int] = {}
    for outcome, status in rows:
        summary[outcome or status] = summary.get(outcome or status, 0) + 1
    k = max(1, len(rows))
    return {"workers": workers, "backend": "postgresql", "gallery": "ray" if ray_address else "inproc",
            "decisions": len(rows), "seconds": round(wall, 1),
            "decisions_per_s": round(len(rows) / wall, 2), "worker_cpu_ms_per_decision": round(cpu * 1000 / k, 1),
            "shard_cpu_ms_per_decision": round(remote * 1000 / k, 1), "outcomes": summary,
            "outcome_seq": [outcome or status for outcome, status in rows]}


def pipeline_run(a, *, settings_shared: Path, enrol: list, residents: list, payloads: list[dict],  # noqa: ANN001
                 abis, ray_mod) -> list[str]:  # noqa: ANN001
    """Decisions/s through the real pipeline on a fresh central database holding the population; with Ray
    shards (`abis`), then one shard's rebuild from that database; `abis` None: in-process galleries.
    Returns each timed packet's outcome, in intake order."""
    from ktpel.config import Settings
    from ktpel.keys.keyring import init_keys
    from ktpel.store.db import open_database

    pg_name = f"ktpel_abis_{uuid.uuid4().hex[:8]}" if a.pg_url else None
    if pg_name:
        import psycopg

        with psycopg.connect(a.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
    with tempfile.TemporaryDirectory() as tmp:
        url = f"{a.pg_url.rsplit('/', 1)[0]}/{pg_name}" if pg_name else f"sqlite:///{Path(tmp) / 'central.db'}"
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url, shared_data=settings_shared)
        db = open_database(settings, name="central")
        init_keys(settings, side="central")
        loaded = load_database(db, enrol=enrol, residents=residents)
        if abis is not None:
            abis.mark_synced(a.size)
        if a.workers > 1:
            address = ray_mod.get_runtime_context().gcs_address if abis is not None else None
            pipe = pipeline_decisions_in_processes(db=db, settings=settings, abis=abis, payloads=payloads,
                                                   workers=a.workers, ray_address=address)
        else:
            pipe = pipeline_decisions(db=db, settings=settings, abis=abis, payloads=payloads)
            pipe["backend"] = "postgresql" if pg_name else "sqlite"
            pipe["gallery"] = "ray" if abis is not None else "inproc"
        seq = pipe.pop("outcome_seq")
        PIPELINES.append({**pipe, "shards": len(abis.actors) if abis is not None else 0})
        print(json.dumps({"pipeline": pipe, "shards": len(abis.actors) if abis is not None else 0,
                          "database_load_s": round(loaded, 1),
                          "load_average": [round(x, 1) for x in os.getloadavg()]}), flush=True)
        if a.pipeline_face_only:
            explain_face_only(db, last=min(a.pipeline_face_only, len(payloads)))
        explain_unique(db, unique=a.pipeline - a.pipeline // 10)
        named_strangers(db, unique=a.pipeline - a.pipeline // 10)
        if abis is not None:
            from ktpel.central.abis.ray_abis import database_spec

            t1 = time.perf_counter()
            info = ray_mod.get(abis.actors[0].rebuild.remote(database_spec(settings)))
            print(json.dumps({"shard_rebuild": info, "wall_s": round(time.perf_counter() - t1, 2),
                              "identities_in_shard": info.get("records")}), flush=True)
        db.dispose()
    if pg_name:
        with psycopg.connect(a.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return seq


def dump_candidates(out, *, shards: int, kind: str, n: int, target: str | None, resp) -> None:  # noqa: ANN001
    """One probe's candidates with their per-modality scores, one JSON line: bench/abis_rule_replay.py
    replays the decision rule on them offline (this bench's --dump-candidates, and abis_million's)."""
    out.write(json.dumps({"shards": shards, "kind": kind, "n": n, "target": target, "candidates": [
        {"ref": c.reference_id, "fused": c.fused, "normalised": c.normalised} for c in resp.candidates]}) + "\n")


def explain_face_only(db, *, last: int) -> None:  # noqa: ANN001
    """For each of the last packets (the face-only duplicates with their data) that did not reach a person:
    its outcome, why quality failed it, the demographic candidates' probabilities and the faces' z."""
    from sqlalchemy import select

    from ktpel.store.schema.central import PipelineJobRow

    with db.unit_of_work() as s:
        jobs = s.scalars(select(PipelineJobRow).order_by(PipelineJobRow.id.desc()).limit(last)).all()
    for j in jobs:
        if j.outcome == "ADJUDICATION":
            continue
        res, bio = j.results or {}, (j.results or {}).get("biometric", {})
        print(json.dumps({"face_only_with_data_not_to_a_person": {
            "outcome": j.outcome or j.status, "quality": [r["en"] for r in res.get("quality", {}).get("reasons", [])],
            "demographic": [(c["other_id"], round(c["probability"], 3)) for c in
                            res.get("demographic", {}).get("candidates", [])[:3]],
            "face_z": {c["reference_id"]: round(c["normalised"].get("face", -99.0), 2)
                       for c in [*bio.get("candidates", []), *bio.get("verified", [])]}}}), flush=True)


def named_strangers(db, *, unique: int) -> None:  # noqa: ANN001
    """What `demographic_face` risks on unique people: how many had strangers their data name (Fellegi–Sunter
    probability ≥ DEMOGRAPHIC_SAME_P), how many of those strangers' faces reached z 2 / 3 / 4, and how many
    cleared the rule's bar (z 4 + log10 of the records named)."""
    from sqlalchemy import select

    from ktpel.central.pipeline.conflict import demographic_face_z
    from ktpel.central.pipeline.stages import named_by_demographics
    from ktpel.store.schema.central import PipelineJobRow

    named_z: list[float] = []
    probes = over = 0
    with db.unit_of_work() as s:
        for j in s.scalars(select(PipelineJobRow).order_by(PipelineJobRow.id).limit(unique)):
            res = j.results or {}
            named = set(named_by_demographics(res))
            bio = res.get("biometric", {})
            faces = {c["reference_id"]: c["normalised"].get("face") for c in
                     [*bio.get("candidates", []), *bio.get("verified", [])]}
            zs = [faces[r] if faces.get(r) is not None else -99.0 for r in named]
            probes += bool(named)
            over += sum(z >= demographic_face_z(named=len(named)) for z in zs)
            named_z += zs
    z = np.asarray(named_z)
    print(json.dumps({"unique_with_a_named_stranger": {
        "unique": unique, "with_one": probes, "named_strangers": int(z.size),
        "face_z_at_least": {str(t): int((z >= t).sum()) for t in (2, 3, 4)}, "over_the_bar": int(over),
        "face_z_max": round(float(z.max()), 2) if z.size else None}}), flush=True)


def explain_unique(db, *, unique: int) -> None:  # noqa: ANN001
    """Every unique person (the first `unique` packets, warm-up included) sent to a person, with why: each
    adjudication item's reason, candidate, fused z, face z and demographic probability (FPIR's cases)."""
    from sqlalchemy import select

    from ktpel.store.schema.central import AdjudicationRow, PipelineJobRow

    with db.unit_of_work() as s:
        jobs = s.scalars(select(PipelineJobRow).order_by(PipelineJobRow.id).limit(unique)).all()
        for j in jobs:
            if j.outcome != "ADJUDICATION":
                continue
            items = s.scalars(select(AdjudicationRow).where(AdjudicationRow.record_id == j.record_id)).all()
            print(json.dumps({"unique_to_a_person": [
                {"reason": i.reason, "candidate": i.candidate_id, "fused": round(i.fused_z, 2),
                 "face_z": round(((i.scores or {}).get("normalised") or {}).get("face", -99.0), 2),
                 "demographic_probability": round(float((i.demographic or {}).get("probability", 0.0)), 3)}
                for i in items]}), flush=True)


# -- chart ------------------------------------------------------------------------------------------

PIPELINES: list[dict] = []  # each pipeline_run's summary, for the chart
DUMP = None  # --dump-candidates: an open file, one JSON line a probe
DECISIONS_TARGET = 12.0  # issue 15: decisions/s end to end on 2 cores


def chart(shard_runs: list[dict], pipelines: list[dict], path: Path, *, size: int) -> Path:
    """Identify p50 / p95 by shard count, and decisions/s by gallery (Ray shards or in-process) against the
    target: what people compare between runs, as a PNG (bilingual labels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if pipelines else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    ks = [str(r["shards"]) for r in shard_runs]
    x = np.arange(len(ks))
    for off, key, label in ((-0.2, "identify_p50_ms", "p50"), (0.2, "identify_p95_ms", "p95")):
        vals = [r[key] for r in shard_runs]
        bars = ax.bar(x + off, vals, width=0.4, label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(x, ks)
    ax.set_xlabel("shard aktor / shard actors")
    ax.set_ylabel("identifikasi / identify (ms)")
    ax.set_title(f"1:N, galeri / gallery {size:,}")
    ax.legend(fontsize=8)
    if pipelines:
        ax = axes[0][1]
        labels = [f"{p.get('shards', '')} shard Ray / Ray shards" if p["gallery"] == "ray"
                  else "dalam proses / in-process" for p in pipelines]
        bars = ax.bar(labels, [p["decisions_per_s"] for p in pipelines], color=["tab:blue", "tab:green"][:len(pipelines)])
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.axhline(DECISIONS_TARGET, color="tab:red", ls="--", lw=1, label=f"sasaran / target {DECISIONS_TARGET:g}/s")
        ax.set_ylim(0, 1.2 * max([DECISIONS_TARGET] + [p["decisions_per_s"] for p in pipelines]))
        ax.set_ylabel("keputusan/detik / decisions/s")
        ax.set_title(f"pipeline, {pipelines[0].get('workers', 1)} worker, {pipelines[0].get('backend', '')}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- main -------------------------------------------------------------------------------------------

def main() -> None:
    global INDEXED, INDEXED_PER_IDENTITY, TRIANGLES, RECAPTURE, DUMP
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--probes", type=int, default=300, help="unique probes (FPIR)")
    ap.add_argument("--dups", type=int, default=100, help="planted duplicates of each kind")
    ap.add_argument("--pipeline", type=int, default=120,
                    help="packets through the real pipeline, over the last shard count of --shards "
                         "(--shards 2 to compare decisions/s with a 2-shard run)")
    ap.add_argument("--pipeline-face-only", type=int, default=0,
                    help="also send this many face-only duplicates through the pipeline, each with its mate's data "
                         "(name, birth date, parents; another NIK): how many reach a person (demographic_face)")
    ap.add_argument("--pipeline-gallery", default="ray", choices=("ray", "inproc", "both"),
                    help="where the pipeline's 1:N runs: the Ray shards above, each worker's own in-process "
                         "gallery (one machine without Ray), or both, each on a database of its own")
    ap.add_argument("--images", action="store_true",
                    help="packets carry a demo recording's real images (~1.5 MB: face and ten FVC TIFFs)")
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--dump-candidates", type=Path, default=None,
                    help="JSON lines: every probe's candidates with their per-modality z (to replay the rule)")
    ap.add_argument("--chart", type=Path, default=None,
                    help="PNG: identify p50/p95 by shard count and decisions/s by gallery")
    ap.add_argument("--indexed", default=",".join(map(str, INDEXED)), help="finger positions in the LSH index")
    ap.add_argument("--indexed-per-identity", type=int, default=None,
                    help="index only each identity's best N of --indexed (most valid cylinders); default all")
    ap.add_argument("--triangles", default=None,
                    help="finger positions in the triangle index, e.g. 1,6; 'none' for the LSH alone; default the gallery's")
    ap.add_argument("--recapture", default="",
                    help="positions whose captures with too few minutiae are taken again, as the office's counter "
                         "asks for the thumbs: 1,6 (RECAPTURE); default none")
    ap.add_argument("--workers", type=int, default=1,
                    help="pipeline worker processes (more than 1: PostgreSQL, --pg-url or KTPEL_BENCH_PG_URL)")
    ap.add_argument("--pg-url", default=os.environ.get("KTPEL_BENCH_PG_URL"),
                    help="a PostgreSQL server for the pipeline step (a database is created and dropped)")
    a = ap.parse_args()
    if a.workers > 1 and not a.pg_url:
        ap.error("--workers > 1 needs PostgreSQL: --pg-url or KTPEL_BENCH_PG_URL")
    INDEXED = tuple(int(x) for x in a.indexed.split(","))
    INDEXED_PER_IDENTITY = a.indexed_per_identity
    if a.triangles is not None:
        TRIANGLES = () if a.triangles == "none" else tuple(int(x) for x in a.triangles.split(","))
    RECAPTURE = tuple(int(x) for x in a.recapture.split(",") if x)
    if a.dump_candidates:
        DUMP = a.dump_candidates.open("w", encoding="utf-8")
    print(json.dumps({"load_average_at_start": os.getloadavg()}), flush=True)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from ktpel.config import Settings
    from ktpel.reference import names as load_names

    shared = Settings().resolved_shared_data()
    if a.images:
        print(json.dumps({"packet_image_bytes": use_real_images(shared)}), flush=True)
    real = real_material(shared)
    faces = face_model(real["faces"])
    fingers = Fingers(real["fingers"], seed=a.seed)
    print(f"# fingers: synthetic (ktpel.biometrics.fingerprint.synthetic); {len(POSITIONS)} per identity, "
          f"indexed {INDEXED}, per identity {INDEXED_PER_IDENTITY or 'all'}, triangles "
          f"{TRIANGLES if TRIANGLES is not None else 'the gallery default'}", flush=True)
    rng = np.random.default_rng(a.seed + 1)
    t0 = time.perf_counter()
    pop = Population(a.size, faces=faces, fingers=fingers, seed=a.seed, model_id=real["model_id"])
    enrol = []
    for s in range(0, a.size, 5000):
        enrol += pop.templates(np.arange(s, min(a.size, s + 5000)), rng=rng)
    print(json.dumps({"generate_s": round(time.perf_counter() - t0, 1), "identities": a.size}), flush=True)
    print(json.dumps({"calibration_check": calibration_check(pop, real, faces, rng)}), flush=True)

    # probes: unique people, and three kinds of planted duplicate
    dup_idx = rng.choice(a.size, size=3 * a.dups, replace=False)
    gen_cos = genuine_face_cosines(real["faces"])
    new = Population(a.probes + a.dups, faces=faces, fingers=fingers, seed=a.seed + 99, model_id=real["model_id"])
    fo, fa, bo = dup_idx[: a.dups], dup_idx[a.dups: 2 * a.dups], dup_idx[2 * a.dups:]
    unique = new.templates(np.arange(a.probes), rng=rng)
    finger_only = pop.templates(fo, rng=rng, face=new.face[a.probes:])  # new face, same fingers
    other = {p: new._sub(new.masters[p], np.arange(a.probes, a.probes + a.dups)) for p in POSITIONS}
    face_only = pop.templates(fa, rng=rng, face=second_photo(rng, pop.face[fa], genuine=gen_cos), other_masters=other)
    both = pop.templates(bo, rng=rng, face=second_photo(rng, pop.face[bo], genuine=gen_cos))
    probes = {"unique": [(None, t) for t in unique],
              "finger_only": [(f"I{i:08d}", t) for i, t in zip(fo, finger_only)],
              "face_only": [(f"I{i:08d}", t) for i, t in zip(fa, face_only)],
              "both": [(f"I{i:08d}", t) for i, t in zip(bo, both)]}
    if RECAPTURE:  # every capture above, enrolments and probes (and the calibration check's)
        print(json.dumps({"recapture": list(RECAPTURE), "below_minutiae": RECAPTURE_MINUTIAE,
                          "attempts": RECAPTURE_ATTEMPTS, **RECAPTURED}), flush=True)

    import ray

    from ktpel.central.abis import init_ray

    # the shard actors must run this tree's code, not whatever ktpel the interpreter has installed
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    init_ray(address=None, num_cpus=2)
    first_answers, last, shard_runs = None, None, []
    for k in [int(x) for x in a.shards.split(",")]:
        if last is not None:
            last["abis"].shutdown()
        res = run_shards(k, pop=pop, enrol=enrol, probes=probes, ray_mod=ray, batch=a.batch)
        answers = res.pop("answers")
        if first_answers is None:
            first_answers = answers
        res["answers_identical_to_first"] = answers == first_answers
        o = res["outcomes"]
        res["FNIR"] = {kind: round(1 - o[kind][0] / o[kind][1], 4) for kind in ("finger_only", "face_only", "both")}
        res["FPIR"] = round(o["unique"][0] / o["unique"][1], 4)
        for w in res.pop("why"):
            print(json.dumps({"why": w, "shards": k}), flush=True)
        printable = {key: v for key, v in res.items() if key != "abis"}
        printable["load_average"] = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps(printable), flush=True)
        shard_runs.append(printable)
        last = res
    if DUMP is not None:
        DUMP.close()

    # the real pipeline over the last shard set, and a shard rebuilt from the central database; then (or
    # instead) the same packets with in-process galleries, Ray shut down, each on a database of its own
    names = load_names(shared)
    residents = [_resident(rng, names) for _ in range(a.size)]
    n = a.pipeline
    mix = [t for _, t in probes["unique"][: n - n // 10]] + [t for _, t in probes["both"][: n // 10]]
    payloads = [_payload(t, _resident(rng, names)) for t in mix]
    # face-only duplicates as a resident recorded twice: the mate's own data under another regency's NIK
    same_data = probes["face_only"][: a.pipeline_face_only]
    payloads += [_payload(t, {**residents[int(target[1:])], "nik": "1871" + residents[int(target[1:])]["nik"][4:]})
                 for target, t in same_data]
    modes = ["ray", "inproc"] if a.pipeline_gallery == "both" else [a.pipeline_gallery]
    abis = last["abis"]
    seqs = []
    for mode in modes:
        if mode == "inproc" and abis is not None:
            abis.shutdown()
            ray.shutdown()
            abis = None
        seqs.append(pipeline_run(a, settings_shared=shared, enrol=enrol, residents=residents, payloads=payloads,
                                 abis=abis, ray_mod=ray))
    if len(seqs) == 2:  # the same packets, one outcome each, in intake order
        print(json.dumps({"pipeline_outcomes_identical_ray_and_inproc": seqs[0] == seqs[1]}), flush=True)
    if same_data:  # the last packets of each run, in intake order
        print(json.dumps({"face_only_with_their_data_to_a_person": [
            f"{sum(o == 'ADJUDICATION' for o in seq[-len(same_data):])}/{len(same_data)}" for seq in seqs],
            "galleries": modes}), flush=True)
    if abis is not None:
        abis.shutdown()
    ray.shutdown()
    if a.chart:
        print(f"chart: {chart(shard_runs, PIPELINES, a.chart, size=a.size)}", flush=True)


if __name__ == "__main__":
    main()
