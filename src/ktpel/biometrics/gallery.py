"""1:N gallery: FAISS candidate search (face embeddings, fingerprint descriptors), then 1:1 scoring.

identify() runs in two phases so a gallery split into shards answers exactly like one gallery:
1. `candidates()`: each modality's index proposes its CANDIDATES best references (ties broken by
   reference id); a sharded gallery merges the shards' proposals and keeps the global best.
2. `score()`: every probe template is compared 1:1 with the candidate's enrolled template of the
   same modality (fingers: same position when both are known, otherwise the best enrolled finger;
   scoring stops early on a candidate whose face and first fingers are all noise-level),
   scores are normalised (-log10 FMR) and fused, and the decision band is attached.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import faiss
import numpy as np

from ktpel.biometrics.engine import Engine, get_engine
from ktpel.biometrics.errors import CorruptTemplate, UnknownReference
from ktpel.biometrics.fingerprint.descriptor import DESCRIPTOR_DIM
from ktpel.biometrics.fusion import Band
from ktpel.biometrics.templates import FaceTemplate, FingerTemplate, Template, template_from_bytes

CANDIDATES = 50
# Sequential scoring: after this many fingers, a candidate whose every finger so far has FMR above 10 %
# (z < 1) and whose fused score so far is below review is not scored on the rest. A mate has FNMR
# ≈ 0.1 % at FMR 10 % per finger, so losing one needs both first fingers to fail together (~1e-6);
# impostors, ~80 % of whom stop here, cost 2 compares instead of 10, which is most of the 1:N time.
# The face is left out of the first test on purpose: in a large gallery every face candidate is an
# extreme impostor (the top 50 of 1M sit near FMR 5e-5), so "face at noise level" would never stop one.
# The second test keeps the band honest: a fused score already at review is scored on every finger.
EARLY_STOP_AFTER = 2
EARLY_STOP_Z = 1.0
_FINGER_SLOTS = 16  # ISO finger positions 0..10, spare room
# Face index: exact (flat) search while it is cheap; from IVF_FROM faces an inverted-file index
# (IVF_LISTS_PER_SQRT·√n lists, IVF_SCAN of them searched), rebuilt each time the gallery quadruples.
# At 1M a flat search reads 512 MB per probe (~60 ms on one core); IVF reads an eighth of it. A mate
# the face index misses is still proposed by the (exact) finger index. bench/bio_1n.py measures recall.
IVF_FROM = 200_000
IVF_LISTS_PER_SQRT = 4
IVF_SCAN = 0.125


@dataclass
class Candidate:
    """One gallery reference with per-modality raw and normalised scores, fused score and band."""

    reference_id: str
    raw: dict[str, float]
    normalised: dict[str, float]
    fused: float
    band: Band

    def to_dict(self) -> dict:
        return {"reference_id": self.reference_id, "raw": self.raw, "normalised": self.normalised,
                "fused": self.fused, "band": self.band.value}


@dataclass
class _Record:
    face: FaceTemplate | None = None
    fingers: dict[int, FingerTemplate] = field(default_factory=dict)


def _split(templates: Iterable[Template | bytes]) -> tuple[FaceTemplate | None, list[FingerTemplate]]:
    face, fingers = None, []
    for t in templates:
        t = template_from_bytes(bytes(t)) if isinstance(t, (bytes, bytearray, memoryview)) else t
        if isinstance(t, FaceTemplate):
            face = t
        elif isinstance(t, FingerTemplate):
            fingers.append(t)
        else:
            raise CorruptTemplate(f"not a template: {type(t).__name__}")
    return face, fingers


class Gallery:
    """In-process gallery keyed by reference id (e.g. an enrolment id, never demographics)."""

    def __init__(self, *, engine: Engine | None = None, face_dim: int = 128) -> None:
        self.engine = engine or get_engine()
        self.face_dim = face_dim
        self._records: dict[str, _Record] = {}
        self._int_of: dict[str, int] = {}
        self._ref_of: dict[int, str] = {}
        self._next = 0
        self._face_index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(face_dim))
        self._ivf_built_at = 0  # faces in the gallery when the IVF index was last trained (0 = flat)
        self._finger_index = faiss.IndexIDMap2(faiss.IndexFlatIP(DESCRIPTOR_DIM))

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, reference_id: str) -> bool:
        return reference_id in self._records

    def insert(self, reference_id: str, templates: Sequence[Template | bytes]) -> None:
        """Add or replace a reference's templates (one face, any fingers)."""
        face, fingers = _split(templates)
        if reference_id in self._records:
            self.delete(reference_id)
        iid = self._next
        self._next += 1
        self._int_of[reference_id], self._ref_of[iid] = iid, reference_id
        rec = _Record(face, {})
        if face is not None:
            self._face_index.add_with_ids(face.embedding[None, :], np.array([iid], np.int64))
        for k, f in enumerate(fingers):
            pos = f.finger_position or (100 + k)  # unknown positions keep distinct slots
            rec.fingers[pos] = f
        if rec.fingers:
            vecs = np.stack([f.index_vector for f in rec.fingers.values()])
            ids = np.array([iid * _FINGER_SLOTS * 16 + n for n in range(len(rec.fingers))], np.int64)
            self._finger_index.add_with_ids(vecs, ids)
        self._records[reference_id] = rec
        if face is not None:
            self._maybe_reindex_faces()  # after the record is held: the rebuild reads every record

    def delete(self, reference_id: str) -> None:
        """Remove a reference and its index entries."""
        if reference_id not in self._records:
            raise UnknownReference(reference_id)
        iid = self._int_of.pop(reference_id)
        del self._ref_of[iid]
        n = len(self._records.pop(reference_id).fingers)
        self._face_index.remove_ids(np.array([iid], np.int64))
        if n:
            self._finger_index.remove_ids(np.array([iid * _FINGER_SLOTS * 16 + k for k in range(n)], np.int64))

    def _maybe_reindex_faces(self) -> None:
        n = self._face_index.ntotal
        if n >= IVF_FROM and n >= 4 * self._ivf_built_at:
            self.reindex_faces()

    def reindex_faces(self) -> None:
        """Rebuild the face index as IVF over the faces held now (k-means on a sample of them)."""
        refs = [r for r, rec in self._records.items() if rec.face is not None]
        if not refs:
            return
        vecs = np.stack([self._records[r].face.embedding for r in refs]).astype(np.float32)
        ids = np.array([self._int_of[r] for r in refs], np.int64)
        nlist = max(1, min(len(refs) // 39, int(IVF_LISTS_PER_SQRT * np.sqrt(len(refs)))))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.face_dim), self.face_dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(len(refs)).choice(len(refs), min(len(refs), 40 * nlist), replace=False)
        ivf.train(vecs[np.sort(sample)])
        ivf.add_with_ids(vecs, ids)
        ivf.nprobe = max(1, int(round(nlist * IVF_SCAN)))
        self._face_index = ivf
        self._ivf_built_at = len(refs)

    # -- phase 1 ---------------------------------------------------------------------------------
    def candidates(self, templates: Sequence[Template | bytes], *, limit: int = CANDIDATES
                   ) -> dict[str, list[tuple[float, str]]]:
        """Per modality, up to `limit` (index score, reference id), best first."""
        face, fingers = _split(templates)
        out: dict[str, list[tuple[float, str]]] = {}
        if face is not None and self._face_index.ntotal:
            out["face"] = self._search(self._face_index, face.embedding[None, :], limit, 1)
        if fingers and self._finger_index.ntotal:
            q = np.stack([f.index_vector for f in fingers])
            out["finger"] = self._search(self._finger_index, q, limit, _FINGER_SLOTS * 16)
        return out

    def _search(self, index: faiss.Index, q: np.ndarray, limit: int, div: int) -> list[tuple[float, str]]:
        k = min(index.ntotal, limit * (_FINGER_SLOTS if div > 1 else 1))
        dist, ids = index.search(q.astype(np.float32), k)
        best: dict[str, float] = {}
        for drow, irow in zip(dist, ids):
            for d, i in zip(drow, irow):
                if i < 0:
                    continue
                ref = self._ref_of[int(i) // div]
                best[ref] = max(best.get(ref, -np.inf), float(d))
        return merge_top(best.items(), limit)

    # -- phase 2 ---------------------------------------------------------------------------------
    def score(self, templates: Sequence[Template | bytes], reference_ids: Iterable[str]) -> list[Candidate]:
        """1:1 scores of the probe against each listed reference, fused and banded."""
        face, fingers = _split(templates)
        cal = self.engine.calibration
        out = []
        for ref in reference_ids:
            rec = self._records.get(ref)
            if rec is None:
                continue
            raw: dict[str, float] = {}
            norm: dict[str, float] = {}
            if face is not None and rec.face is not None:
                raw["face"] = self.engine.compare_faces(face, rec.face)
                norm["face"] = cal.normalise("face", raw["face"])
            for k, f in enumerate(fingers):
                if k >= EARLY_STOP_AFTER and max((z for m, z in norm.items() if m != "face"), default=0.0) \
                        < EARLY_STOP_Z and cal.fuse(norm) < cal.review_z:
                    break  # fingers at noise level and no review yet: an impostor, the rest change nothing
                same = rec.fingers.get(f.finger_position) if f.finger_position else None
                pool = [same] if same is not None else list(rec.fingers.values())
                if pool:
                    key = f"finger_{f.finger_position or k}"
                    raw[key] = max(self.engine.compare_fingers(f, g) for g in pool)
                    norm[key] = cal.normalise("finger", raw[key])
            fused = cal.fuse(norm)
            out.append(Candidate(ref, raw, norm, fused, cal.band(fused)))
        return sorted(out, key=lambda c: (-c.fused, c.reference_id))

    def identify(self, templates: Sequence[Template | bytes], *, top_k: int = 10,
                 limit: int = CANDIDATES) -> list[Candidate]:
        """Best `top_k` references for the probe, by fused score."""
        return identify_over([self], templates, top_k=top_k, limit=limit)

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write `manifest.json` + `templates.bin` (length-prefixed KTPB records)."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        manifest = {"format": "ktpel-gallery", "version": 1, "references": []}
        # biometric templates: readable by the owner only
        fd = os.open(directory / "templates.bin.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            for ref, rec in self._records.items():
                blobs = ([rec.face.to_bytes()] if rec.face is not None else []) + \
                        [f.to_bytes() for f in rec.fingers.values()]
                manifest["references"].append({"id": ref, "templates": len(blobs)})
                for b in blobs:
                    fh.write(struct.pack(">I", len(b)) + b)
        (directory / "templates.bin.tmp").replace(directory / "templates.bin")
        (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, *, engine: Engine | None = None) -> "Gallery":
        """Read a gallery written by save(); indexes are rebuilt from the templates."""
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != "ktpel-gallery":
            raise CorruptTemplate("not a ktpel gallery")
        data = (directory / "templates.bin").read_bytes()
        g, off = cls(engine=engine), 0
        for entry in manifest["references"]:
            blobs = []
            for _ in range(entry["templates"]):
                if off + 4 > len(data):
                    raise CorruptTemplate("gallery file truncated")
                (n,) = struct.unpack_from(">I", data, off)
                blobs.append(data[off + 4 : off + 4 + n])
                off += 4 + n
            g.insert(entry["id"], blobs)
        return g


def merge_top(items: Iterable[tuple[str, float]], limit: int) -> list[tuple[float, str]]:
    """Best `limit` (score, ref), ties broken by reference id so merges are order-independent."""
    return sorted(((s, r) for r, s in items), key=lambda x: (-x[0], x[1]))[:limit]


def identify_over(shards: Sequence[Gallery], templates: Sequence[Template | bytes], *, top_k: int,
                  limit: int) -> list[Candidate]:
    """Fan a probe out to shards, merge candidates globally, score on the owning shards."""
    # parse once: a template object caches its matcher features, which both phases and every shard use
    face, fingers = _split(templates)
    templates = ([face] if face is not None else []) + fingers
    merged: dict[str, dict[str, float]] = {}
    for shard in shards:
        for modality, lst in shard.candidates(templates, limit=limit).items():
            for s, ref in lst:
                merged.setdefault(modality, {})[ref] = s
    refs: set[str] = set()
    for lst in merged.values():
        refs.update(r for _, r in merge_top(lst.items(), limit))
    results: list[Candidate] = []
    for shard in shards:
        results.extend(shard.score(templates, sorted(r for r in refs if r in shard)))
    return sorted(results, key=lambda c: (-c.fused, c.reference_id))[:top_k]


class ShardedGallery:
    """K galleries, a reference living in shard crc32(id) mod K; same answers as one Gallery."""

    def __init__(self, shards: int, *, engine: Engine | None = None) -> None:
        self.shards = [Gallery(engine=engine) for _ in range(shards)]

    def _shard(self, reference_id: str) -> Gallery:
        import zlib

        return self.shards[zlib.crc32(reference_id.encode()) % len(self.shards)]

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def insert(self, reference_id: str, templates: Sequence[Template | bytes]) -> None:
        self._shard(reference_id).insert(reference_id, templates)

    def delete(self, reference_id: str) -> None:
        self._shard(reference_id).delete(reference_id)

    def identify(self, templates: Sequence[Template | bytes], *, top_k: int = 10,
                 limit: int = CANDIDATES) -> list[Candidate]:
        return identify_over(self.shards, templates, top_k=top_k, limit=limit)

    def save(self, directory: Path) -> None:
        for k, s in enumerate(self.shards):
            s.save(Path(directory) / f"shard-{k:03d}")

    @classmethod
    def load(cls, directory: Path, shards: int, *, engine: Engine | None = None) -> "ShardedGallery":
        g = cls(0, engine=engine)
        g.shards = [Gallery.load(Path(directory) / f"shard-{k:03d}", engine=engine) for k in range(shards)]
        return g


def band_of(candidates: Sequence[Candidate]) -> Band:
    """Decision for the whole search: the best candidate's band, no_hit when empty."""
    return candidates[0].band if candidates else Band.NO_HIT


