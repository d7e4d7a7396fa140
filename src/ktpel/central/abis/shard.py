"""One gallery shard: the slice of the national gallery whose reference ids route to it.

`ShardCore` is plain Python (tested without Ray); `ktpel.central.abis.ray_abis` wraps it in a Ray
actor. It holds an in-process `Gallery` (fpindex owns its internals; only its public API is used
here: insert/delete/candidates/score/save/load/__contains__/__len__) and adds what a shard of a
distributed ABIS needs:
- idempotent insert (same templates again: nothing happens) and delete (absent: nothing happens);
- a rebuild of its slice from the central database (templates are stored there encrypted; the
  field keyring decrypts them), run when the actor starts, so a shard restarted after a crash
  comes back with its slice;
- snapshots the database validates: a snapshot records the highest gallery number it covers and a
  digest of the live ids of its slice up to it; on load the database recomputes that digest, and
  only if they agree is the snapshot used (then the records numbered after it are caught up).
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from pathlib import Path
from typing import Iterable, Sequence


_BATCH = 500
_PROBES_KEPT = 8  # probes parsed between an identify's two phases (a few workers' searches interleave)


def shard_of(reference_id: str, shards: int) -> int:
    """The shard owning a reference: crc32(id) mod K (the same rule as `ShardedGallery`)."""
    return zlib.crc32(reference_id.encode()) % shards


def _digest(blobs: Sequence[bytes]) -> bytes:
    h = hashlib.blake2b(digest_size=8)
    for b in blobs:
        h.update(len(b).to_bytes(4, "big"))
        h.update(b)
    return h.digest()


def ids_digest(ids: Iterable[str]) -> str:
    """Order-independent digest of a set of reference ids (what a snapshot claims to hold)."""
    h = hashlib.sha256()
    for rid in sorted(ids):
        h.update(rid.encode() + b"\n")
    return h.hexdigest()


def _as_bytes(templates: Sequence) -> list[bytes]:
    return [bytes(t) if isinstance(t, (bytes, bytearray, memoryview)) else t.to_bytes() for t in templates]


class ShardCore:
    """A gallery slice with idempotent writes, database rebuild and validated snapshots."""

    def __init__(self, *, shard: int, shards: int, indexed_positions: tuple[int, ...] | None = None,
                 indexed_per_identity: int | None = None, triangle_positions: tuple[int, ...] | None = None) -> None:
        from ktpel.biometrics.gallery import Gallery

        self.shard, self.shards = shard, shards
        self._gallery_kw: dict = {} if indexed_positions is None else {"indexed_positions": tuple(indexed_positions)}
        if indexed_per_identity is not None:
            self._gallery_kw["indexed_per_identity"] = int(indexed_per_identity)
        if triangle_positions is not None:
            self._gallery_kw["triangle_positions"] = tuple(triangle_positions)
        self.gallery = Gallery(**self._gallery_kw)
        self._digests: dict[str, bytes] = {}
        self._probes: dict[bytes, list] = {}
        self.synced_seq = 0  # every record of this slice numbered up to here is held (or revoked)
        self.rebuild_info: dict = {}

    # -- writes ------------------------------------------------------------------------------------
    def insert(self, reference_id: str, templates: Sequence) -> bool:
        """Add or replace; the same templates again change nothing. True when the gallery changed."""
        self._check_owner(reference_id)
        blobs = _as_bytes(templates)
        d = _digest(blobs)
        if self._digests.get(reference_id) == d:
            return False
        self.gallery.insert(reference_id, blobs)
        self._digests[reference_id] = d
        return True

    def delete(self, reference_id: str) -> bool:
        """Remove if held. True when something was removed."""
        if reference_id not in self._digests:
            return False
        self.gallery.delete(reference_id)
        del self._digests[reference_id]
        return True

    def delete_many(self, reference_ids: Sequence[str]) -> int:
        """Remove each one held; returns how many were removed (absent ones are not an error)."""
        return sum(self.delete(rid) for rid in dict.fromkeys(reference_ids))

    def _check_owner(self, reference_id: str) -> None:
        if shard_of(reference_id, self.shards) != self.shard:
            raise ValueError(f"reference {reference_id} belongs to shard {shard_of(reference_id, self.shards)}, "
                             f"not {self.shard}")

    def mark_synced(self, seq: int) -> None:
        self.synced_seq = max(self.synced_seq, int(seq))

    # -- reads -------------------------------------------------------------------------------------
    def _probe(self, templates: Sequence | bytes) -> list:
        """The probe parsed once for both phases of an identify: its matcher features (cylinders) are
        then computed once per shard, not once per phase. `templates` is a list of template blobs or
        one gallery.pack_probe (a probe whose index lookups its sender computed). Keyed by its bytes."""
        from ktpel.biometrics.gallery import parse_probe, unpack_probe

        packed = isinstance(templates, (bytes, bytearray))
        if not packed and not all(isinstance(t, (bytes, bytearray, memoryview)) for t in templates):
            return list(templates)
        key = _digest([bytes(templates)] if packed else [bytes(t) for t in templates])
        parsed = self._probes.pop(key, None)
        if parsed is None:
            parsed = unpack_probe(bytes(templates)) if packed else parse_probe(templates)
        self._probes[key] = parsed  # most recent last
        while len(self._probes) > _PROBES_KEPT:
            self._probes.pop(next(iter(self._probes)))
        return parsed

    def candidates(self, templates: Sequence | bytes, *, limit: int,
                   exclude: str | None = None) -> dict[str, list[tuple[float, str]]]:
        return self.gallery.candidates(self._probe(templates), limit=limit, exclude=exclude)

    def score(self, templates: Sequence | bytes, reference_ids: Sequence[str], *,
              lead: dict[str, int] | None = None) -> list:
        return self.gallery.score(self._probe(templates), reference_ids, lead=lead)

    def __len__(self) -> int:
        return len(self._digests)

    def __contains__(self, reference_id: str) -> bool:
        return reference_id in self._digests

    def ids(self) -> list[str]:
        return sorted(self._digests)

    def bytes_per_identity(self) -> dict:
        """The gallery's own account of its memory per reference (fpindex's compact gallery)."""
        fn = getattr(self.gallery, "bytes_per_identity", None)
        return fn() if fn is not None else {}

    def stats(self) -> dict:
        import resource

        return {"shard": self.shard, "shards": self.shards, "references": len(self), "synced_seq": self.synced_seq,
                "lsh_positions": list(self.gallery.indexed_positions),
                "triangle_positions": list(self.gallery.triangle_positions),
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rebuild": self.rebuild_info}

    # -- rebuild -----------------------------------------------------------------------------------
    def _slice_ids(self, session, *, up_to: int | None = None) -> list[tuple[str, int]]:  # noqa: ANN001
        """(id, gallery number) of this slice's live records (ids only: cheap next to templates)."""
        from sqlalchemy import select

        from ktpel.central.records import in_gallery
        from ktpel.store.schema.central import NationalRecordRow as R

        q = select(R.id, R.gallery_seq).where(*in_gallery())
        if up_to is not None:
            q = q.where(R.gallery_seq <= up_to)
        return [(rid, seq) for rid, seq in session.execute(q) if shard_of(rid, self.shards) == self.shard]

    def _load_templates(self, session, ids: list[str]) -> int:  # noqa: ANN001
        from sqlalchemy import select

        from ktpel.central.records import templates_of
        from ktpel.store.schema.central import NationalRecordRow as R

        n = 0
        for i in range(0, len(ids), _BATCH):
            for row in session.scalars(select(R).where(R.id.in_(ids[i:i + _BATCH]))):
                self.insert(row.id, templates_of(row))  # decrypted by the column type
                n += 1
        return n

    def rebuild_from_database(self, db) -> dict:  # noqa: ANN001
        """Load this slice from the central database: every live record with a gallery number."""
        from sqlalchemy import func, select

        from ktpel.store.schema.central import NationalRecordRow as R

        started = time.perf_counter()
        with db.unit_of_work() as s:
            top = s.scalar(select(func.max(R.gallery_seq))) or 0
            ids = self._slice_ids(s, up_to=top)
            loaded = self._load_templates(s, [rid for rid, _ in ids])
        self.synced_seq = max(self.synced_seq, top)
        self.rebuild_info = {"source": "database", "records": loaded, "seconds": round(time.perf_counter() - started, 3)}
        return self.rebuild_info

    # -- snapshots ---------------------------------------------------------------------------------
    def save_snapshot(self, directory: Path) -> dict:
        """Gallery files plus what the database must confirm: the gallery number and the ids digest."""
        directory = Path(directory)
        self.gallery.save(directory / "gallery")
        (directory / "digests.json").write_text(json.dumps({r: d.hex() for r, d in self._digests.items()}),
                                                encoding="utf-8")
        meta = {"format": "ktpel-abis-shard", "shard": self.shard, "shards": self.shards,
                "synced_seq": self.synced_seq, "references": len(self), "ids_digest": ids_digest(self._digests)}
        (directory / "snapshot.json").write_text(json.dumps(meta), encoding="utf-8")
        return meta

    def load_snapshot(self, directory: Path, db) -> dict:  # noqa: ANN001
        """Use a snapshot only if the database agrees with it, then catch up; else rebuild from the database.

        The database agrees when every live record of this slice numbered up to the snapshot's number is
        in it, and every other reference in it has since been revoked (a revocation renumbers its record
        above that number: revocations after the snapshot must not cost a full rebuild)."""
        from ktpel.biometrics.gallery import Gallery

        started = time.perf_counter()
        directory = Path(directory)
        try:
            meta = json.loads((directory / "snapshot.json").read_text(encoding="utf-8"))
            digests = json.loads((directory / "digests.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {**self.rebuild_from_database(db), "snapshot": "missing"}
        if meta.get("format") != "ktpel-abis-shard" or (meta.get("shard"), meta.get("shards")) != (self.shard, self.shards):
            return {**self.rebuild_from_database(db), "snapshot": "other shard layout"}
        held = set(digests)
        if ids_digest(held) != meta.get("ids_digest"):
            return {**self.rebuild_from_database(db), "snapshot": "damaged"}
        upto = int(meta["synced_seq"])
        with db.unit_of_work() as s:
            live = {rid for rid, _ in self._slice_ids(s, up_to=upto)}
            extra = sorted(held - live)
            revoked = self._revoked(s, extra)
        if live - held or len(revoked) != len(extra):
            return {**self.rebuild_from_database(db), "snapshot": "rejected by the database"}
        self.gallery = Gallery.load(directory / "gallery", **self._gallery_kw)
        self._digests = {rid: bytes.fromhex(d) for rid, d in digests.items()}
        self.synced_seq = upto
        caught = self.delete_many(revoked) + self.catch_up(db)
        self.rebuild_info = {"source": "snapshot", "records": len(self), "caught_up": caught,
                             "seconds": round(time.perf_counter() - started, 3)}
        return self.rebuild_info

    @staticmethod
    def _revoked(session, ids: list[str]) -> list[str]:  # noqa: ANN001
        """Those of `ids` that the database has revoked out of the gallery (read by primary key)."""
        from sqlalchemy import select

        from ktpel.central.records import left_gallery
        from ktpel.store.schema.central import NationalRecordRow as R

        return [rid for i in range(0, len(ids), _BATCH)
                for rid in session.scalars(select(R.id).where(R.id.in_(ids[i:i + _BATCH]), *left_gallery()))]

    def catch_up(self, db) -> int:  # noqa: ANN001
        """Records of this slice numbered after `synced_seq`: new ones inserted, revoked ones removed (a
        revocation renumbers its record, so only those rows are read); returns how many changed."""
        from sqlalchemy import func, select

        from ktpel.domain.national_record import NationalRecordState
        from ktpel.store.schema.central import NationalRecordRow as R

        changed = 0
        with db.unit_of_work() as s:
            top = s.scalar(select(func.max(R.gallery_seq))) or 0
            rows = s.execute(select(R.id, R.state).where(R.gallery_seq > self.synced_seq)).all()
            mine = [(rid, state) for rid, state in rows if shard_of(rid, self.shards) == self.shard]
            changed += self.delete_many([rid for rid, state in mine if state == NationalRecordState.REVOKED.value])
            changed += self._load_templates(s, [rid for rid, state in mine if state != NationalRecordState.REVOKED.value])
        self.synced_seq = max(self.synced_seq, top)
        return changed

