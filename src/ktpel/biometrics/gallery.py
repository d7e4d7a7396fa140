"""1:N gallery: candidate search (face: FAISS over float16 vectors; fingers: MCC locality-sensitive
hashing and, for the thumbs, minutia triangles), then 1:1 scoring on candidates only.

identify() runs in two phases so a gallery split into shards answers exactly like one gallery:
1. `candidates()`: each modality's index proposes its CANDIDATES best references (ties broken by
   reference id); a sharded gallery merges the shards' proposals and keeps the global best. The
   finger index (fingerprint/index.py) holds the INDEXED_POSITIONS fingers (thumbs and index
   fingers) and fingers of unknown position; a reference's finger score is the sum over the
   probe's fingers of its MCC-LSH score, which depends on that reference alone (shard-exact).
   The triangle index (fingerprint/triangles.py) holds the TRIANGLE_POSITIONS fingers and proposes
   its own TRIANGLE_CANDIDATES best by summed pose votes (also shard-exact), scored like the others.
   Each finger proposal also names its lead: the probe finger that contributed most.
2. `score()`: every probe template is compared 1:1 with the candidate's enrolled template of the
   same modality (fingers: same position when both are known, otherwise the best enrolled finger;
   the lead finger first, and scoring stops early on a candidate whose fingers so far are all
   noise-level),
   scores are normalised (-log10 FMR) and fused, and the decision band is attached.

Memory (compact gallery): per reference the gallery keeps a float16 face vector (plus the face
index's own float16 copy), its fingers in the compact form of fingerprint/compact.py, the LSH
postings of its indexed fingers and the triangle postings of its thumbs; matcher features (cylinders)
are computed only for candidates.
`bytes_per_identity()` reports the measured cost per part.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import struct
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import faiss
import numpy as np

from ktpel.biometrics.engine import Engine, get_engine
from ktpel.biometrics.errors import CorruptTemplate, UnknownReference
from ktpel.biometrics.fingerprint.compact import finger_offsets, pack_fingers, unpack_finger, unpack_fingers
from ktpel.biometrics.fingerprint.index import FingerIndex, finger_keys
from ktpel.biometrics.fingerprint.triangles import TriangleIndex, finger_triangles
from ktpel.biometrics.fusion import Band
from ktpel.biometrics.templates import FaceTemplate, FingerTemplate, Template, template_from_bytes

CANDIDATES = 50
# The face index proposes fewer: a face decides only as a conflict (face_only), which needs a face at
# z ≥ log10 N + 3, above all but ~0.1 % of strangers: the mate is then first. A mate with a weaker
# face is found through its fingers. Each face candidate costs a 1:1 score on every finger (~2 ms each).
FACE_CANDIDATES = 10
# Sequential scoring: a candidate is first compared on one finger; if every finger scored so far has
# FMR above 10 % (z < 1) and the fused score so far is below review, it is not scored on the rest.
# The first finger is the probe's finger that the LSH index related to that candidate most (its
# "lead", from phase 1): for a mate, the finger pair that collided, not a poorly captured one. 3 % of
# synthetic mates' finger pairs score z < 1, yet in the probe's own order one finger lost 2 of 120
# mates at 3,000 identities and the lead finger none (docs/biometrics.md, "Sequential scoring").
# Impostors mostly stop after that one compare: 87 finger compares a probe instead of 133
# (bench/abis_cpu.py, 3,000 identities).
# A candidate without a lead (proposed by the face alone) is compared on EARLY_STOP_AFTER_NO_LEAD
# fingers first. The face is left out of the first test on purpose: in a large gallery every face
# candidate is an extreme impostor (the top of 1M sit near FMR 5e-5), so "face at noise level" would
# never stop one. The second test keeps the band honest: a fused score at review is scored on every finger.
EARLY_STOP_AFTER = 1
EARLY_STOP_AFTER_NO_LEAD = 2
EARLY_STOP_Z = 1.0
# candidates()' key for {reference id: index of its lead finger in the probe's fingers}
LEAD = "lead"
# Fingers in the LSH index (ISO 19794-2 positions: 1 right thumb, 2 right index, 6 left thumb, 7 left
# index): the largest, most often well captured fingers. The others are scored 1:1 on candidates.
INDEXED_POSITIONS = (1, 2, 6, 7)
# Of those, each identity may put only this many in the index: the ones carrying most information
# (valid cylinders, then minutiae), so a poorly captured thumb gives its place to a well captured index
# finger; a probe searches with all its fingers, so it meets whichever its mate's record indexed. None
# indexes every finger in INDEXED_POSITIONS, the default: at 20,000 identities the mate was in the top 50
# for 98.0 % of 300 finger duplicates with four indexed, 92.3 % with the best two, 86.0 % with the thumbs
# (bench/abis_index_hits.py; docs/abis-sizing.md run E), for ~1.4 KB of index a finger.
INDEXED_PER_IDENTITY: int | None = None
# Fingers also in the triangle index (fingerprint/triangles.py): a second finger index, of minutia
# triangles with a pose vote, proposing its own TRIANGLE_CANDIDATES best references beside the LSH's.
# Two poor captures of a thumb still share triangles where their cylinders do not collide: on the two
# thumbs, finger-only duplicates' mates reached the projected 1M top 50 for 96.7 % of 300 (97.0 % with
# the LSH's list) against 83.7 % for the LSH alone (docs/abis-sizing.md, run J). An empty tuple turns it off.
TRIANGLE_POSITIONS: tuple[int, ...] = (1, 6)
# As few as the face's: a mate the triangles find is nearly always their first (median votes 37 against
# the best stranger's 7 at 10,000), and each candidate costs a 1:1 compare (~0.7 ms). With 25, the
# pipeline's shards spent 159 ms of CPU a decision against the LSH alone's 88 (docs/abis-sizing.md, run I).
TRIANGLE_CANDIDATES = 10
# candidates()' key for the triangle index's lead fingers (LEAD is the LSH's)
LEAD_TRIANGLES = "lead_triangles"
# Face index: exact (flat) search while it is cheap; from IVF_FROM faces an inverted-file index
# (IVF_LISTS_PER_SQRT·√n lists, IVF_SCAN of them searched), rebuilt each time the gallery quadruples.
# At 1M a flat search reads 512 MB per probe (~60 ms on one core); IVF reads an eighth of it. A mate
# the face index misses is still proposed by the finger index. bench/bio_1n.py measures recall.
IVF_FROM = 200_000
IVF_LISTS_PER_SQRT = 4
IVF_SCAN = 0.125
# Enrolled fingers whose matcher features (cylinders: ~0.4 ms of a ~0.6 ms 1:1 compare) were
# computed for a candidate are kept, least recently used dropped first: a reference proposed again
# (a re-enrolled person's mate, a "hub" finger the LSH index proposes often, every reference of a
# small gallery) is not recomputed. A ~40-minutia finger's features take ~55 KB: 2,048 of them
# ~110 MB per gallery (shard). Scores are those of a fresh decode: the cache holds the same objects.
FEATURE_CACHE = 2048


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


def parse_probe(templates: Iterable[Template | bytes]) -> list[Template]:
    """A probe as template objects, face first: parse once, since a template object caches what is
    derived from it (matcher features, index lookups), which both phases of an identify and every
    in-process shard then reuse."""
    face, fingers = _split(templates)
    return ([face] if face is not None else []) + fingers


def prepare_probe(templates: Iterable[Template | bytes], *, lsh_positions: Sequence[int] = INDEXED_POSITIONS,
                  triangle_positions: Sequence[int] = TRIANGLE_POSITIONS) -> list[Template]:
    """parse_probe, with the index lookups of the fingers those indexes hold computed now (cached on
    each finger): what a coordinator does before it sends the probe to remote shards (pack_probe), so
    each lookup is computed once a decision, not once a shard (~5–7 ms: four fingers' LSH keys and two
    thumbs' triangles). A lookup not computed here is computed by the shard that needs it."""
    parsed = parse_probe(templates)
    for t in parsed:
        if isinstance(t, FingerTemplate):
            if not t.finger_position or t.finger_position in lsh_positions:
                t.lsh_probe  # noqa: B018 - computed and cached
            if t.finger_position in triangle_positions:
                t.triangle_probe  # noqa: B018
    return parsed


def pack_probe(parsed: list[Template]) -> bytes:
    """A prepared probe for another process, its cached index lookups with it (matcher features are
    left out: only the shards holding candidates need them). Shards and their callers are one trust
    domain, the one Ray's own calls already pickle across."""
    return pickle.dumps([_without_features(t) for t in parsed], protocol=pickle.HIGHEST_PROTOCOL)


def _without_features(t: Template) -> Template:
    if isinstance(t, FingerTemplate) and "features" in t.__dict__:
        t = copy.copy(t)
        del t.__dict__["features"]
    return t


def unpack_probe(data: bytes) -> list[Template]:
    """pack_probe's inverse."""
    try:
        parsed = pickle.loads(data)  # noqa: S301 - from pack_probe inside the ABIS (see there)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a corrupt probe
        raise CorruptTemplate(f"packed probe: {type(exc).__name__}") from exc
    if not isinstance(parsed, list) or not all(isinstance(t, (FaceTemplate, FingerTemplate)) for t in parsed):
        raise CorruptTemplate("not a packed probe")
    return parsed


class Gallery:
    """In-process gallery keyed by reference id (e.g. an enrolment id, never demographics).

    insert() replaces a reference that is already present; discard() forgets one and is a no-op
    when it is absent (delete() raises UnknownReference instead).
    """

    def __init__(self, *, engine: Engine | None = None, face_dim: int = 128,
                 indexed_positions: Sequence[int] = INDEXED_POSITIONS,
                 indexed_per_identity: int | None = INDEXED_PER_IDENTITY,
                 triangle_positions: Sequence[int] = TRIANGLE_POSITIONS) -> None:
        self.engine = engine or get_engine()
        self.face_dim = face_dim
        self.indexed_positions = tuple(sorted(set(int(p) for p in indexed_positions)))
        self.indexed_per_identity = indexed_per_identity
        self.triangle_positions = tuple(sorted(set(int(p) for p in triangle_positions)))
        self._int_of: dict[str, int] = {}
        self._refs: list[str | None] = []  # iid -> reference id (None once deleted)
        self._faces = np.zeros((0, face_dim), np.float16)
        self._face_model = np.zeros(0, np.uint8)  # 0 = no face, k = self._models[k - 1]
        self._models: list[str] = []
        self._fingers: list[bytes | None] = []  # iid -> compact fingers (fingerprint/compact.py)
        self._face_index: faiss.Index = self._flat_face_index()
        self._ivf_built_at = 0  # faces in the gallery when the IVF index was last trained (0 = flat)
        self._finger_index: dict[int, FingerIndex] = {}  # position (0 = unknown) -> LSH index
        self._triangle_index: dict[int, TriangleIndex] = {}  # position -> triangle index
        # (iid, slot) -> decoded finger with its features; an iid is never reused, so no entry goes stale
        self._featured: OrderedDict[tuple[int, int], FingerTemplate] = OrderedDict()
        self._featured_lock = threading.Lock()
        self.feature_cache_size = FEATURE_CACHE

    def _flat_face_index(self) -> faiss.Index:
        sq = faiss.IndexScalarQuantizer(self.face_dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        return faiss.IndexIDMap(sq)

    def __len__(self) -> int:
        return len(self._int_of)

    def __contains__(self, reference_id: str) -> bool:
        return reference_id in self._int_of

    def reference_ids(self) -> list[str]:
        return list(self._int_of)

    def _index_slot(self, slot: int) -> int | None:
        """Which LSH index holds a finger kept in this slot (None: scored 1:1 only)."""
        if slot >= 100:
            return 0
        return slot if slot in self.indexed_positions else None

    def _index_entries(self, stored: dict[int, FingerTemplate]) -> list[tuple[int, np.ndarray]]:
        """(index, LSH keys) of the fingers this identity puts in the finger index: those in indexed
        positions, at most `indexed_per_identity` of them, most valid cylinders (then minutiae) first."""
        entries = [(slot, self._index_slot(slot), finger_keys(f.minutiae), len(f.minutiae))
                   for slot, f in stored.items() if self._index_slot(slot) is not None]
        if self.indexed_per_identity is not None and len(entries) > self.indexed_per_identity:
            entries.sort(key=lambda e: (-len(e[2]), -e[3], e[0]))
            entries = sorted(entries[: self.indexed_per_identity], key=lambda e: e[0])
        return [(where, keys) for _, where, keys, _ in entries]

    def insert(self, reference_id: str, templates: Sequence[Template | bytes]) -> None:
        """Add or replace a reference's templates (one face, any fingers)."""
        face, fingers = _split(templates)
        self.discard(reference_id)
        iid = len(self._refs)
        self._refs.append(reference_id)
        self._int_of[reference_id] = iid
        if iid >= len(self._faces):
            grow = max(1024, len(self._faces))
            self._faces = np.concatenate([self._faces, np.zeros((grow, self.face_dim), np.float16)])
            self._face_model = np.concatenate([self._face_model, np.zeros(grow, np.uint8)])
        slots: dict[int, FingerTemplate] = {}
        for k, f in enumerate(fingers):
            slots[f.finger_position or (100 + k)] = f  # unknown positions keep distinct slots
        blob = pack_fingers(slots) if slots else None
        self._fingers.append(blob)
        # index what is stored (compact form, positions rounded), so a reloaded gallery answers alike
        stored = unpack_fingers(blob) if blob else {}
        for where, keys in self._index_entries(stored):
            self._finger_index.setdefault(where, FingerIndex()).add(iid, keys)
        for slot in self.triangle_positions:
            if slot in stored:
                self._triangle_index.setdefault(slot, TriangleIndex()).add(iid, *finger_triangles(stored[slot].minutiae))
        if face is not None:
            if face.model_id not in self._models:
                self._models.append(face.model_id)
            self._face_model[iid] = self._models.index(face.model_id) + 1
            self._faces[iid] = face.embedding.astype(np.float16)
            self._face_index.add_with_ids(face.embedding[None, :].astype(np.float32), np.array([iid], np.int64))
            self._maybe_reindex_faces()

    def delete(self, reference_id: str) -> None:
        """Remove a reference and its index entries."""
        if not self.discard(reference_id):
            raise UnknownReference(reference_id)

    def discard(self, reference_id: str) -> bool:
        """Remove a reference if present (idempotent); True when something was removed."""
        iid = self._int_of.pop(reference_id, None)
        if iid is None:
            return False
        self._refs[iid] = None
        self._fingers[iid] = None
        for idx in [*self._finger_index.values(), *self._triangle_index.values()]:
            idx.remove(iid)
        if self._face_model[iid]:
            self._face_model[iid] = 0
            self._face_index.remove_ids(np.array([iid], np.int64))
        return True

    def _maybe_reindex_faces(self) -> None:
        n = self._face_index.ntotal
        if n >= IVF_FROM and n >= 4 * self._ivf_built_at:
            self.reindex_faces()

    def reindex_faces(self) -> None:
        """Rebuild the face index as IVF over the faces held now (k-means on a sample of them)."""
        ids = np.nonzero(self._face_model[: len(self._refs)])[0].astype(np.int64)
        if not ids.size:
            return
        vecs = self._faces[ids].astype(np.float32)
        nlist = max(1, min(ids.size // 39, int(IVF_LISTS_PER_SQRT * np.sqrt(ids.size))))
        ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(self.face_dim), self.face_dim, nlist,
                                            faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(ids.size).choice(ids.size, min(ids.size, 40 * nlist), replace=False)
        ivf.train(vecs[np.sort(sample)])
        ivf.add_with_ids(vecs, ids)
        ivf.nprobe = max(1, int(round(nlist * IVF_SCAN)))
        self._face_index = ivf
        self._ivf_built_at = ids.size

    # -- stored templates ----------------------------------------------------------------------
    def face_of(self, reference_id: str) -> FaceTemplate | None:
        iid = self._int_of.get(reference_id)
        if iid is None or not self._face_model[iid]:
            return None
        return FaceTemplate(self._faces[iid].astype(np.float32), self._models[self._face_model[iid] - 1])

    def fingers_of(self, reference_id: str) -> dict[int, FingerTemplate]:
        """The reference's fingers by slot (ISO position, ≥ 100 for unknown ones), decoded afresh."""
        iid = self._int_of.get(reference_id)
        blob = self._fingers[iid] if iid is not None else None
        return unpack_fingers(blob) if blob else {}

    def templates_of(self, reference_id: str) -> list[Template]:
        face = self.face_of(reference_id)
        return ([face] if face is not None else []) + list(self.fingers_of(reference_id).values())

    # -- phase 1 ---------------------------------------------------------------------------------
    def candidates(self, templates: Sequence[Template | bytes], *, limit: int = CANDIDATES,
                   exclude: str | None = None) -> dict[str, list[tuple[float, str]]]:
        """Per modality, up to `limit` (index score, reference id), best first; the reference `exclude`
        (the probe's own record, already in the gallery) is searched as if it were not there."""
        face, fingers = _split(templates)
        out: dict[str, list[tuple[float, str]]] = {}
        skip = self._int_of.get(exclude) if exclude is not None else None
        if face is not None and self._face_index.ntotal:
            k = min(self._face_index.ntotal, modality_limit("face", limit))
            dist, ids = self._face_index.search(face.embedding[None, :].astype(np.float32),
                                                min(self._face_index.ntotal, k + (skip is not None)))
            out["face"] = merge_top(((self._refs[int(i)], float(d)) for d, i in zip(dist[0], ids[0])
                                     if i >= 0 and i != skip), k)
        if fingers and self._finger_index:
            total, lead = self._finger_evidence(fingers)
            if skip is not None:
                total[skip] = 0.0
            found = {self._refs[i]: float(total[i]) for i in top_iids(total, limit=limit)}
            if found:
                out["finger"] = merge_top(found.items(), limit)
                out[LEAD] = {ref: int(lead[self._int_of[ref]]) for _, ref in out["finger"]}
        if fingers and self._triangle_index:
            k = modality_limit("finger_triangles", limit)
            votes, lead = self._triangle_evidence(fingers)
            if skip is not None:
                votes[skip] = 0.0
            found = {self._refs[i]: float(votes[i]) for i in top_iids(votes, limit=k)}
            if found:
                out["finger_triangles"] = merge_top(found.items(), k)
                out[LEAD_TRIANGLES] = {ref: int(lead[self._int_of[ref]]) for _, ref in out["finger_triangles"]}
        return out

    def triangle_scores(self, fingers: Sequence[FingerTemplate]) -> dict[str, float]:
        """Every reference the triangle index relates to the probe, with its summed pose votes."""
        votes, _ = self._triangle_evidence(fingers)
        return {self._refs[i]: float(votes[i]) for i in np.nonzero(votes > 0)[0]}

    def _triangle_evidence(self, fingers: Sequence[FingerTemplate]) -> tuple[np.ndarray, np.ndarray]:
        """Per reference iid: the pose votes summed over the probe's fingers (each searching its own
        position's triangle index), and the probe finger with most votes (its lead; ties to the first)."""
        def per_finger() -> Iterable[tuple[int, np.ndarray]]:
            for k, f in enumerate(fingers):
                idx = self._triangle_index.get(f.finger_position)
                if idx is not None:
                    owners, votes = idx.search(f.triangle_probe)
                    best = np.zeros(len(self._refs))
                    best[owners] = votes
                    yield k, best
        return self._summed_with_lead(per_finger())

    def _summed_with_lead(self, per_finger: Iterable[tuple[int, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The per-iid scores of the probe's fingers summed, and the finger that scored each iid highest."""
        total = np.zeros(len(self._refs))
        top = np.zeros(len(self._refs))
        lead = np.zeros(len(self._refs), np.int8)
        for k, best in per_finger:
            total += best
            better = best > top
            lead[better] = k
            top[better] = best[better]
        return total, lead

    def finger_scores(self, fingers: Sequence[FingerTemplate]) -> dict[str, float]:
        """Every reference the finger index relates to the probe, with its summed LSH score."""
        total, _ = self._finger_evidence(fingers)
        return {self._refs[i]: float(total[i]) for i in np.nonzero(total > 0)[0]}

    def _finger_evidence(self, fingers: Sequence[FingerTemplate]) -> tuple[np.ndarray, np.ndarray]:
        """Per reference iid: the summed LSH score over the probe's fingers, and which probe finger
        contributed most (its lead; ties to the first). Depends on that reference's postings alone."""
        def per_finger() -> Iterable[tuple[int, np.ndarray]]:
            for k, f in enumerate(fingers):
                pos = f.finger_position
                # a known position looks in its own index and among unknown-position fingers; an unknown one everywhere
                where = (([pos] if pos in self.indexed_positions else []) + [0]) if pos else list(self._finger_index)
                where = [w for w in dict.fromkeys(where) if w in self._finger_index]
                if not where:
                    continue  # a finger outside the index is scored 1:1 on candidates only
                keys = f.lsh_probe
                best = np.zeros(len(self._refs))
                for w in where:
                    owners, scores = self._finger_index[w].search(keys)
                    np.maximum.at(best, owners, scores)
                yield k, best
        return self._summed_with_lead(per_finger())

    # -- phase 2 ---------------------------------------------------------------------------------
    def score(self, templates: Sequence[Template | bytes], reference_ids: Iterable[str], *,
              lead: dict[str, int] | None = None) -> list[Candidate]:
        """1:1 scores of the probe against each listed reference, fused and banded; `lead` (from
        candidates()) names the probe finger to compare first with a reference."""
        face, fingers = _split(templates)
        cal = self.engine.calibration
        out = []
        for ref in reference_ids:
            if ref not in self._int_of:
                continue
            enrolled_face = self.face_of(ref)
            # decoded lazily: most candidates stop after EARLY_STOP_AFTER fingers
            iid = self._int_of[ref]
            blob = self._fingers[iid] or b""
            at = finger_offsets(blob)
            enrolled: dict[int, FingerTemplate] = {}

            def finger(slot: int) -> FingerTemplate:
                if slot not in enrolled:
                    enrolled[slot] = self._enrolled_finger(iid, slot, blob, at[slot])
                return enrolled[slot]

            raw: dict[str, float] = {}
            norm: dict[str, float] = {}
            if face is not None and enrolled_face is not None:
                raw["face"] = self.engine.compare_faces(face, enrolled_face)
                norm["face"] = cal.normalise("face", raw["face"])
            first = (lead or {}).get(ref)
            order = list(range(len(fingers)))
            if first is not None and 0 <= first < len(fingers):
                order.insert(0, order.pop(first))
            after = EARLY_STOP_AFTER if first is not None else EARLY_STOP_AFTER_NO_LEAD
            for n, k in enumerate(order):
                f = fingers[k]
                if n >= after and max((z for m, z in norm.items() if m != "face"), default=0.0) \
                        < EARLY_STOP_Z and cal.fuse(norm) < cal.review_z:
                    break  # fingers at noise level and no review yet: an impostor, the rest change nothing
                same = finger(f.finger_position) if f.finger_position in at else None
                pool = [same] if same is not None else [finger(slot) for slot in at]
                if pool:
                    key = f"finger_{f.finger_position or k}"
                    raw[key] = max(self.engine.compare_fingers(f, g) for g in pool)
                    norm[key] = cal.normalise("finger", raw[key])
            fused = cal.fuse(norm)
            out.append(Candidate(ref, raw, norm, fused, cal.band(fused)))
        return sorted(out, key=lambda c: (-c.fused, c.reference_id))

    def _enrolled_finger(self, iid: int, slot: int, blob: bytes, offset: int) -> FingerTemplate:
        """A stored finger, decoded; from the feature cache when it was a candidate recently."""
        key = (iid, slot)
        with self._featured_lock:
            t = self._featured.get(key)
            if t is not None:
                self._featured.move_to_end(key)
                return t
        t = unpack_finger(blob, offset)
        if self.feature_cache_size > 0:
            with self._featured_lock:
                self._featured[key] = t
                while len(self._featured) > self.feature_cache_size:
                    self._featured.popitem(last=False)
        return t

    def identify(self, templates: Sequence[Template | bytes], *, top_k: int = 10,
                 limit: int = CANDIDATES, exclude: str | None = None) -> list[Candidate]:
        """Best `top_k` references for the probe, by fused score (never `exclude`)."""
        return identify_over([self], templates, top_k=top_k, limit=limit, exclude=exclude)

    def verify(self, templates: Sequence[Template | bytes], reference_ids: Iterable[str]) -> list[Candidate]:
        """1:few: the probe scored against the listed references (those held), best first."""
        return verify_over([self], templates, reference_ids)

    # -- memory ----------------------------------------------------------------------------------
    def bytes_per_identity(self) -> dict[str, float]:
        """Measured bytes per held reference, per part, and their total.

        face: the float16 vector kept for scoring plus the face index's own copy (codes + 8-byte
        id); finger_index: LSH postings, bucket tables and alive flags; finger_triangles: the same of
        the triangle index; finger_templates: the
        compact finger blobs (+ the Python bytes object header); references: id map and id list
        (Python objects, estimated with sys.getsizeof).
        """
        n = max(1, len(self))
        faces = int(np.count_nonzero(self._face_model[: len(self._refs)]))
        face_index = faces * (2 * self.face_dim + 8)
        face_store = len(self._refs) * (self._faces.itemsize * self.face_dim + 1)  # rows in use (capacity grows ×2)
        finger_index = sum(i.nbytes() for i in self._finger_index.values())
        triangle_index = sum(i.nbytes() for i in self._triangle_index.values())
        blobs = [b for b in self._fingers if b is not None]
        finger_templates = sum(len(b) for b in blobs) + sys.getsizeof(b"") * len(blobs) + 8 * len(self._fingers)
        refs = sum(sys.getsizeof(r) + 8 + 8 + 24 for r in self._int_of) + 8 * len(self._refs)
        parts = {"face": (face_index + face_store) / n, "finger_index": finger_index / n,
                 "finger_triangles": triangle_index / n,
                 "finger_templates": finger_templates / n, "references": refs / n}
        parts["total"] = sum(parts.values())
        return {k: round(v, 1) for k, v in parts.items()}

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write `manifest.json` + `templates.bin` (length-prefixed KTPB records, compact values)."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        manifest = {"format": "ktpel-gallery", "version": 1, "references": []}
        # biometric templates: readable by the owner only
        fd = os.open(directory / "templates.bin.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            for ref in self._int_of:
                blobs = [t.to_bytes() for t in self.templates_of(ref)]
                manifest["references"].append({"id": ref, "templates": len(blobs)})
                for b in blobs:
                    fh.write(struct.pack(">I", len(b)) + b)
        (directory / "templates.bin.tmp").replace(directory / "templates.bin")
        (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, *, engine: Engine | None = None,
             indexed_positions: Sequence[int] = INDEXED_POSITIONS,
             indexed_per_identity: int | None = INDEXED_PER_IDENTITY,
             triangle_positions: Sequence[int] = TRIANGLE_POSITIONS) -> "Gallery":
        """Read a gallery written by save(); indexes are rebuilt from the templates."""
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != "ktpel-gallery":
            raise CorruptTemplate("not a ktpel gallery")
        data = (directory / "templates.bin").read_bytes()
        g, off = cls(engine=engine, indexed_positions=indexed_positions,
                     indexed_per_identity=indexed_per_identity, triangle_positions=triangle_positions), 0
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

def modality_limit(modality: str, limit: int) -> int:
    """How many of a modality's proposals are kept (per shard and after the merge alike)."""
    if modality == "face":
        return min(limit, FACE_CANDIDATES)
    return min(limit, TRIANGLE_CANDIDATES) if modality == "finger_triangles" else limit


def top_iids(scores: np.ndarray, *, limit: int) -> np.ndarray:
    """Indices of the positive scores that can be in merge_top's best `limit`: every score above the
    limit-th largest and every one equal to it (ties are then broken by reference id). Without this
    cut, a probe whose fingers touch most of a large shard built and sorted a dict of all of them."""
    pos = np.nonzero(scores > 0)[0]
    if pos.size <= limit:
        return pos
    vals = scores[pos]
    cut = np.partition(vals, pos.size - limit)[pos.size - limit]  # the limit-th largest
    return pos[vals >= cut]


def merge_top(items: Iterable[tuple[str, float]], limit: int) -> list[tuple[float, str]]:
    """Best `limit` (score, ref), ties broken by reference id so merges are order-independent."""
    return sorted(((s, r) for r, s in items), key=lambda x: (-x[0], x[1]))[:limit]


def identify_over(shards: Sequence[Gallery], templates: Sequence[Template | bytes], *, top_k: int,
                  limit: int, exclude: str | None = None) -> list[Candidate]:
    """Fan a probe out to shards, merge candidates globally, score on the owning shards."""
    templates = parse_probe(templates)
    proposals = [shard.candidates(templates, limit=limit, exclude=exclude) for shard in shards]
    refs, lead = merge_proposals(proposals, limit=limit)
    return _score_over(shards, templates, refs, lead=lead)[:top_k]


def verify_over(shards: Sequence[Gallery], templates: Sequence[Template | bytes],
                reference_ids: Iterable[str]) -> list[Candidate]:
    """Score the probe against the listed references on the shards that hold them (no index, no lead:
    every finger compared in the probe's order, as identify scores a reference no index proposed)."""
    return _score_over(shards, parse_probe(templates), sorted(set(reference_ids)), lead={})


def _score_over(shards: Sequence[Gallery], templates: list[Template], refs: Sequence[str], *,
                lead: dict[str, int]) -> list[Candidate]:
    """Phase 2: each shard scores the listed references it holds; all of them, best first."""
    results: list[Candidate] = []
    for shard in shards:
        mine = sorted(r for r in refs if r in shard)
        results.extend(shard.score(templates, mine, lead={r: lead[r] for r in mine if r in lead}))
    return sorted(results, key=lambda c: (-c.fused, c.reference_id))


def merge_proposals(proposals: Iterable[dict], *, limit: int) -> tuple[list[str], dict[str, int]]:
    """The shards' phase-1 answers merged: the references every modality keeps globally (sorted) and
    their lead fingers. A reference's lead comes from its own shard, so it is the one-gallery lead."""
    merged: dict[str, dict[str, float]] = {}
    leads: dict[str, dict[str, int]] = {LEAD: {}, LEAD_TRIANGLES: {}}
    for props in proposals:
        for modality, lst in props.items():
            if modality in leads:
                leads[modality].update(lst)
                continue
            for s, ref in lst:
                merged.setdefault(modality, {})[ref] = s
    refs: set[str] = set()
    lead: dict[str, int] = {}
    # only the finger proposals kept globally have a lead: a shard also names references of its own
    # top list that the merge dropped, and one of those kept for its face must be scored as one
    # gallery scores it (no lead). The LSH's lead wins over the triangles' for a reference both keep.
    for modality in sorted(merged, key=lambda m: m == "finger"):
        kept = [r for _, r in merge_top(merged[modality].items(), modality_limit(modality, limit))]
        refs.update(kept)
        source = {"finger": LEAD, "finger_triangles": LEAD_TRIANGLES}.get(modality)
        if source:
            lead.update({r: leads[source][r] for r in kept if r in leads[source]})
    return sorted(refs), lead


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

    def discard(self, reference_id: str) -> bool:
        return self._shard(reference_id).discard(reference_id)

    def identify(self, templates: Sequence[Template | bytes], *, top_k: int = 10,
                 limit: int = CANDIDATES, exclude: str | None = None) -> list[Candidate]:
        return identify_over(self.shards, templates, top_k=top_k, limit=limit, exclude=exclude)

    def verify(self, templates: Sequence[Template | bytes], reference_ids: Iterable[str]) -> list[Candidate]:
        return verify_over(self.shards, templates, reference_ids)

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


