"""The national gallery as Ray actors: one actor per shard, identify fanned out and merged.

Imported only when the ABIS is configured as Ray (`KTPEL_ABIS=ray://…`): the embedded default
(`ktpel demo`, SQLite) never imports Ray.

Identify runs the same two phases as `ktpel.biometrics.gallery.identify_over`, with the shards
remote: every shard proposes its best `limit` references per modality, the proposals are merged
globally (`merge_top`, ties by reference id), each owning shard scores its share 1:1, and the
results are sorted by (−fused, reference id). The answer is therefore exactly that of one
in-process `Gallery` holding every reference (tests/integration/central/test_ray_abis.py).

Actors are created with `max_restarts=-1`: Ray restarts a crashed shard, and its constructor
rebuilds the slice from the central database (or a snapshot the database validates).
Writes are idempotent, so Ray may retry them.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence

import ray

from ktpel.biometrics.abis import IdentifyResponse
from ktpel.biometrics.gallery import (
    CANDIDATES, INDEXED_POSITIONS, TRIANGLE_POSITIONS, band_of, merge_proposals, pack_probe, parse_probe,
    prepare_probe,
)
from ktpel.central.abis.shard import ShardCore, shard_of

NAMESPACE = "ktpel"


def actor_name(shard: int) -> str:
    return f"ktpel-abis-shard-{shard}"


@ray.remote(max_restarts=-1, max_task_retries=3)
class ShardActor:
    """A `ShardCore` in its own process; rebuilt from the database when (re)started."""

    def __init__(self, shard: int, shards: int, database: dict | None = None, snapshot_dir: str | None = None,
                 indexed_positions: tuple[int, ...] | None = None, indexed_per_identity: int | None = None,
                 triangle_positions: tuple[int, ...] | None = None) -> None:
        import faiss

        faiss.omp_set_num_threads(1)  # one core per shard: parallelism comes from the shards
        self.index_options = {"indexed_positions": indexed_positions, "indexed_per_identity": indexed_per_identity,
                              "triangle_positions": triangle_positions}
        self.core = ShardCore(shard=shard, shards=shards, **self.index_options)
        self.started = time.monotonic()  # for uptime; wall dates come from ktpel.domain.clock
        self._db = None
        if database is not None:
            from pathlib import Path

            db = self.database(database)
            if snapshot_dir and (Path(snapshot_dir) / f"shard-{shard:03d}").is_dir():
                self.core.load_snapshot(Path(snapshot_dir) / f"shard-{shard:03d}", db)
            else:
                self.core.rebuild_from_database(db)

    def database(self, database: dict):  # noqa: ANN201
        if self._db is None:
            from ktpel.config import Settings
            from ktpel.store.db import open_database

            self._db = open_database(Settings(**database), name="central", migrate=False)
        return self._db

    def insert(self, reference_id: str, blobs: list[bytes]) -> bool:
        return self.core.insert(reference_id, blobs)

    def insert_many(self, items: list[tuple[str, list[bytes]]]) -> int:
        changed = sum(self.core.insert(rid, blobs) for rid, blobs in items)
        if len(items) >= TRIM_AFTER:  # bulk loads only: a trim walks the whole heap
            _trim_heap()
        return changed

    def delete(self, reference_id: str) -> bool:
        return self.core.delete(reference_id)

    def delete_many(self, reference_ids: list[str]) -> int:
        return self.core.delete_many(reference_ids)

    def candidates(self, probe: list[bytes] | bytes, limit: int, exclude: str | None = None) -> dict:
        """`probe`: template blobs, or a gallery.pack_probe (index lookups computed by the caller)."""
        return self.core.candidates(probe, limit=limit, exclude=exclude)

    def score(self, probe: list[bytes] | bytes, reference_ids: list[str],
              lead: dict[str, int] | None = None) -> list:
        return self.core.score(probe, reference_ids, lead=lead)

    def mark_synced(self, seq: int) -> None:
        self.core.mark_synced(seq)

    def synced_seq(self) -> int:
        return self.core.synced_seq

    def stats(self) -> dict:
        return self.core.stats()

    def save_snapshot(self, directory: str) -> dict:
        from pathlib import Path

        return self.core.save_snapshot(Path(directory) / f"shard-{self.core.shard:03d}")

    def rebuild(self, database: dict) -> dict:
        """Drop everything and reload the slice from the database (what a restart does)."""
        self.core = ShardCore(shard=self.core.shard, shards=self.core.shards, **self.index_options)
        return self.core.rebuild_from_database(self.database(database))

    def bytes_per_identity(self) -> dict:
        return self.core.bytes_per_identity()

    def rss_mb(self) -> float:
        """Resident memory of this shard's process now (MB), freed heap pages handed back first."""
        _trim_heap()
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    @ray.method(max_task_retries=0)  # a retried crash would kill the restarted actor again
    def crash(self) -> None:
        """Fault tests: die as a killed process would (Ray restarts the actor)."""
        import os

        os._exit(1)

    def ping(self) -> int:
        return self.core.shard

    def cpu_s(self) -> float:
        """CPU seconds this shard's process has used (benches: wall time lies on a shared machine)."""
        return time.process_time()

    def task_cpu_s(self) -> float:
        """CPU seconds of the thread running this actor's calls (its process time less Ray's own threads)."""
        return time.thread_time()

    def code_path(self) -> str:
        """Where this actor imported ktpel from (benches check the tree under test reached the shards)."""
        import ktpel

        return str(ktpel.__file__)


TRIM_AFTER = 1000  # references in one insert_many before freed heap pages are handed back


def _trim_heap() -> None:
    """Give freed heap pages back to the system: a bulk insert's temporaries (decoded templates,
    index segments being merged) otherwise leave the process ~5× the gallery's size (measured by
    bench/abis_memory.py: 37–55 KB of RSS per identity without, 8.5 KB with, for 8.7 KB held)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim this way


def _blobs(templates: Sequence) -> list[bytes]:
    return [bytes(t) if isinstance(t, (bytes, bytearray, memoryview)) else t.to_bytes() for t in templates]


def database_spec(settings) -> dict:  # noqa: ANN001
    """What a shard needs to open the central database itself (URL and the field keyring's folder)."""
    return {"data_dir": str(settings.data_dir), "database_url": settings.resolved_database_url(name="central")}


class RayAbis:
    """The `Abis` contract over K shard actors (routed by crc32(reference id) mod K)."""

    def __init__(self, actors: list, *, lsh_positions: Sequence[int] = INDEXED_POSITIONS,
                 triangle_positions: Sequence[int] = TRIANGLE_POSITIONS) -> None:
        if not actors:
            raise ValueError("a Ray ABIS needs at least one shard actor")
        self.actors = actors
        # the fingers the shards index: identify computes their lookups once, not once a shard
        self.lsh_positions, self.triangle_positions = tuple(lsh_positions), tuple(triangle_positions)

    # -- lifecycle -----------------------------------------------------------------------------------
    @classmethod
    def start(cls, *, shards: int, settings=None, snapshot_dir: str | None = None,  # noqa: ANN001
              detached: bool = False, num_cpus: float = 0,
              indexed_positions: tuple[int, ...] | None = None,
              indexed_per_identity: int | None = None,
              triangle_positions: tuple[int, ...] | None = None) -> "RayAbis":
        """Create the shard actors (named, so other processes attach); each rebuilds its slice."""
        database = database_spec(settings) if settings is not None else None
        opts = {"num_cpus": num_cpus, "namespace": NAMESPACE,
                "runtime_env": {"env_vars": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}}}
        if detached:
            opts["lifetime"] = "detached"
        actors = [ShardActor.options(name=actor_name(k), **opts).remote(k, shards, database, snapshot_dir,
                                                                            indexed_positions, indexed_per_identity,
                                                                            triangle_positions)
                  for k in range(shards)]
        ray.get([a.ping.remote() for a in actors])  # constructors (rebuilds) done
        return cls(actors, lsh_positions=INDEXED_POSITIONS if indexed_positions is None else indexed_positions,
                   triangle_positions=TRIANGLE_POSITIONS if triangle_positions is None else triangle_positions)

    @classmethod
    def attach(cls) -> "RayAbis":
        """The shards `ktpel central abis` started on the cluster this process joined."""
        actors = []
        while True:
            try:
                actors.append(ray.get_actor(actor_name(len(actors)), namespace=NAMESPACE))
            except ValueError:
                break
        if not actors:
            raise RuntimeError("no ABIS shards on this Ray cluster: start them with `ktpel central abis`")
        stats = ray.get([a.stats.remote() for a in actors])
        if any(s["shards"] != len(actors) for s in stats):
            raise RuntimeError(f"ABIS shards disagree on the shard count: {[s['shards'] for s in stats]}")
        return cls(actors, lsh_positions=stats[0]["lsh_positions"],
                   triangle_positions=stats[0]["triangle_positions"])

    def shutdown(self, *, wait_s: float = 20.0) -> None:
        """Kill the shard actors and wait until their names are free again."""
        for a in self.actors:
            ray.kill(a, no_restart=True)
        deadline = time.monotonic() + wait_s
        for k in range(len(self.actors)):
            while time.monotonic() < deadline:
                try:
                    ray.get_actor(actor_name(k), namespace=NAMESPACE)
                except ValueError:
                    break
                time.sleep(0.1)

    # -- the Abis contract ---------------------------------------------------------------------------
    def _owner(self, reference_id: str):  # noqa: ANN202
        return self.actors[shard_of(reference_id, len(self.actors))]

    def insert(self, reference_id: str, templates: Sequence) -> None:
        ray.get(self._owner(reference_id).insert.remote(reference_id, _blobs(templates)))

    def _by_owner(self, items: Iterable, *, key: Callable = lambda item: item) -> dict[int, list]:
        """Items grouped by the shard owning each one's reference id (`key`), in their order: one call a shard."""
        by: dict[int, list] = {}
        for item in items:
            by.setdefault(shard_of(key(item), len(self.actors)), []).append(item)
        return by

    def _score_on_owners(self, probe, reference_ids: Sequence[str], lead: dict[str, int]) -> list:  # noqa: ANN001
        """Phase 2: each owning shard scores its references (`probe`: a ray.put pack_probe), best first."""
        calls = [self.actors[k].score.remote(probe, v, {r: lead[r] for r in v if r in lead})
                 for k, v in self._by_owner(reference_ids).items()]
        return sorted((c for part in ray.get(calls) for c in part), key=lambda c: (-c.fused, c.reference_id))

    def insert_many(self, items: Sequence[tuple[str, Sequence]]) -> int:
        """Bulk load: each shard gets its share in one call; returns how many changed."""
        by = self._by_owner(((rid, _blobs(t)) for rid, t in items), key=lambda item: item[0])
        return sum(ray.get([self.actors[k].insert_many.remote(v) for k, v in by.items()]))

    def delete(self, reference_id: str) -> None:
        """Idempotent: deleting an absent reference is not an error here."""
        ray.get(self._owner(reference_id).delete.remote(reference_id))

    def delete_many(self, reference_ids: Sequence[str]) -> int:
        """Each shard gets its share in one call (a worker's first refresh meets every revoked record);
        idempotent; returns how many were removed."""
        by = self._by_owner(reference_ids)
        return sum(ray.get([self.actors[k].delete_many.remote(v) for k, v in by.items()]))

    def identify(self, templates: Sequence, *, max_candidates: int = 10, limit: int = CANDIDATES,
                 exclude: str | None = None) -> IdentifyResponse:
        # parsed once, with the indexed fingers' lookups; one copy in the object store, read by every shard
        probe = ray.put(pack_probe(prepare_probe(templates, lsh_positions=self.lsh_positions,
                                                 triangle_positions=self.triangle_positions)))
        refs, lead = merge_proposals(ray.get([a.candidates.remote(probe, limit, exclude) for a in self.actors]),
                                     limit=limit)
        cands = self._score_on_owners(probe, refs, lead)[:max_candidates]
        return IdentifyResponse(cands, band_of(cands))

    def verify(self, templates: Sequence, reference_ids: Sequence[str]) -> list:
        """1:few: the probe scored on the shards owning the listed references (absent ones left out),
        best first; the same scores as one Gallery's `verify`."""
        wanted = sorted(set(reference_ids))
        if not wanted:
            return []
        return self._score_on_owners(ray.put(pack_probe(parse_probe(templates))), wanted, {})

    # -- what the pipeline and the operators need ------------------------------------------------------
    def mark_synced(self, seq: int) -> None:
        """Not awaited (one round trip less per decision): an actor runs one caller's calls in order, so
        this caller's next `synced_seq` sees it; a mark lost with a crashed shard only makes a new worker
        insert again what the shard already rebuilt (writes are idempotent)."""
        for a in self.actors:
            a.mark_synced.remote(seq)

    def synced_seq(self) -> int:
        """Every record numbered up to here is in the shards: a new worker starts its refresh there."""
        return min(ray.get([a.synced_seq.remote() for a in self.actors]))

    def stats(self) -> list[dict]:
        return ray.get([a.stats.remote() for a in self.actors])

    def __len__(self) -> int:
        return sum(s["references"] for s in self.stats())

    def save_snapshot(self, directory: str) -> list[dict]:
        return ray.get([a.save_snapshot.remote(directory) for a in self.actors])
