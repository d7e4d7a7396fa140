"""Fingerprint indexing by MCC locality-sensitive hashing (after Cappelli, Ferrara & Maltoni,
"Fingerprint Indexing Based on Minutia Cylinder-Code", IEEE TPAMI 33(5), 2011).

1. Every minutia gets a BINARY cylinder: the MCC grid (INDEX_NS × INDEX_NS cells within RADIUS,
   INDEX_ND direction bins) around it, a cell bit set when the Gaussian votes of its neighbours pass
   VOTE_THRESHOLD. Minutiae with fewer than MIN_NEIGHBOURS neighbours inside the cylinder carry too
   little structure and are neither indexed nor used as probes (the paper's "valid cylinder" rule);
   at most MAX_MINUTIAE per finger, those with the most neighbours.
2. TABLES hash functions, each a fixed random subset of HASH_BITS of the cylinder's bits (the
   paper's bit-sampling LSH for the Hamming distance): two cylinders whose bits agree on a share s
   collide in one table with probability ≈ s^HASH_BITS, so mated minutiae collide in several tables
   and unrelated ones rarely. A key with fewer than MIN_KEY_ONES set bits (drawn from empty cells)
   would be shared by countless unrelated cylinders: it is void (0), neither stored nor looked up.
3. Each table is a posting list per hash value of int32 entries owner << MINUTIA_BITS | minutia
   (owner: a gallery record's int id), i.e. one entry per (indexed cylinder, table).
4. A probe finger looks up, per table, its key and the keys with one of its FLIPS least certain
   bits flipped (votes closest to the threshold; query-directed multi-probe LSH, Lv et al. 2007).
   Its score for an owner, as in the paper: c_ab = the number of tables in which probe cylinder a
   and gallery cylinder b collide; c_a = max over the owner's cylinders b; score =
   Σ_a (c_a / TABLES)^POWER / n_a (n_a: the probe's cylinders). The score depends only on the
   probe and that owner's postings, never on the rest of the gallery, so shards answer exactly like
   one index.

Storage is an LSM-style list of immutable sorted segments (unique keys, bucket starts, entries);
inserts go to a pending buffer, flushed into a segment before a search; segments of similar size
are merged up to SEGMENT_MAX postings, and merges drop removed owners (removal only clears an alive
flag). Memory: 4 bytes per posting (TABLES per indexed cylinder) plus 12 bytes per non-empty bucket.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ktpel.biometrics.fingerprint import mcc, stoplist
from ktpel.biometrics.fingerprint.owners import LiveOwners
from ktpel.biometrics.fingerprint.segments import neighbour_groups

INDEX_NS = 8
INDEX_ND = 6
VOTE_THRESHOLD = 0.02
MIN_NEIGHBOURS = 3
HASH_BITS = 20
TABLES = 16
POWER = 1.0
MIN_KEY_ONES = 4
MIN_HITS = 1  # a probe cylinder counts for an owner from this many colliding tables
FLIPS = 3  # multi-probe: extra lookups per table at query time
MAX_MINUTIAE = 32  # per finger: the ones with most neighbours (central, well supported)
MINUTIA_BITS = 5  # postings hold owner << 5 | minutia: owners < 2^26 per index
PENDING_MAX = 4096  # fingers buffered before they become a segment
WHOLE_BUILD_MAX = 1 << 18  # postings: a merge up to this size is sorted whole (~80 bytes a posting at the peak)
# Segments stop growing at this many postings (~3.2 GB; ~1.5M fingers): a merge then never needs more
# than ~29 bytes a posting of it at once (~7.8 GB), however large the shard. Unbounded, a shard of
# 22M identities would merge ~8 billion postings at once (docs/abis-sizing.md). Past the cap a search
# visits one more segment per SEGMENT_MAX postings (a binary search per key in each).
SEGMENT_MAX = 1 << 28
_SEED = 2011_05_01


def _grid(ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ds = 2 * mcc.RADIUS / ns
    g = (np.arange(ns) - (ns - 1) / 2) * ds
    ci, cj = np.meshgrid(np.arange(ns), np.arange(ns), indexing="ij")
    ci, cj = ci.ravel(), cj.ravel()
    keep = g[ci] ** 2 + g[cj] ** 2 <= mcc.RADIUS**2
    return g, ci[keep], cj[keep]


_G, _CI, _CJ = _grid(INDEX_NS)
_BINS = -np.pi + (np.arange(INDEX_ND) + 0.5) * 2 * np.pi / INDEX_ND
BITS = _CI.size * INDEX_ND
# fixed seed: every installation hashes the same way, so saved indexes and shards agree
_HASH_IDX = np.stack([np.random.default_rng(_SEED + t).choice(BITS, HASH_BITS, replace=False)
                      for t in range(TABLES)])
_WEIGHTS = (np.uint32(1) << np.arange(HASH_BITS, dtype=np.uint32)).astype(np.uint32)


def cylinder_votes(minutiae: np.ndarray) -> np.ndarray:
    """(k, BITS) float32 cell votes of the informative minutiae (k ≤ MAX_MINUTIAE)."""
    m = np.asarray(minutiae, dtype=np.float64)
    if len(m) < MIN_NEIGHBOURS + 1:
        return np.zeros((0, BITS), np.float32)
    xy = np.ascontiguousarray(m[:, :2])
    th = np.ascontiguousarray(m[:, 2])
    votes, nb = mcc._kernels().cylinder_votes(xy, th, _G, _CI, _CJ, _BINS, mcc.SIGMA_S, mcc.SIGMA_D, mcc.RADIUS)
    keep = np.nonzero(nb >= MIN_NEIGHBOURS)[0]
    if keep.size > MAX_MINUTIAE:
        keep = np.sort(keep[np.argsort(-nb[keep], kind="stable")[:MAX_MINUTIAE]])
    return votes[keep]


def cylinder_bits(minutiae: np.ndarray) -> np.ndarray:
    """(k, BITS) uint8 binary cylinders of the informative minutiae (k ≤ MAX_MINUTIAE)."""
    return (cylinder_votes(minutiae) > VOTE_THRESHOLD).astype(np.uint8)


def _keys_of(sel: np.ndarray) -> np.ndarray:
    keys = (sel.astype(np.uint32) * _WEIGHTS).sum(axis=-1, dtype=np.uint32)
    # a key drawn mostly from empty cells is shared by countless unrelated cylinders: void (0)
    keys[sel.sum(axis=-1) < MIN_KEY_ONES] = 0
    return keys


def hash_keys(bits: np.ndarray) -> np.ndarray:
    """(k, TABLES) uint32 hash values of binary cylinders."""
    if len(bits) == 0:
        return np.zeros((0, TABLES), np.uint32)
    return _keys_of(bits[:, _HASH_IDX])


def stop_signature() -> np.ndarray:
    """The parameters that determine the keys: a stop list measured under others does not apply."""
    return np.array([INDEX_NS, INDEX_ND, HASH_BITS, TABLES, MIN_KEY_ONES, MAX_MINUTIAE, MIN_NEIGHBOURS,
                     round(VOTE_THRESHOLD * 1e6)], np.int64)


def _void_stopped(keys: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """Keys with the stop-listed ones (stoplist.py: a pattern that common, a cylinder of few, regular
    neighbours, identifies no one) voided: neither stored nor looked up. At 20,000 identities skipping
    such buckets cut the finger search's CPU by 40 % with the mates' ranks unchanged (docs/abis-sizing.md
    run E)."""
    stop = stoplist.stop_codes("lsh", signature=stop_signature())
    if stop.size and keys.size:
        keys = np.where(stoplist.listed((tables.astype(np.uint32) << np.uint32(HASH_BITS)) | keys, stop),
                        np.uint32(0), keys)
    return keys


def finger_keys(minutiae: np.ndarray) -> np.ndarray:
    """Hash keys of one finger's minutiae: what the index stores (stop-listed keys void)."""
    return _void_stopped(hash_keys(cylinder_bits(minutiae)), np.arange(TABLES))


def probe_keys(minutiae: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multi-probe keys of a probe finger: (k, TABLES·(1+FLIPS)) keys and the table of each column.

    Per table, besides the key itself, the keys with one of its FLIPS least certain bits flipped
    (the bits whose vote lies closest to VOTE_THRESHOLD: query-directed multi-probe LSH, Lv et al.
    2007). A mated cylinder that lost or gained one such bit still meets its partner; the index
    itself does not grow.
    """
    votes = cylinder_votes(minutiae)
    if len(votes) == 0:
        return np.zeros((0, TABLES * (1 + FLIPS)), np.uint32), np.repeat(np.arange(TABLES), 1 + FLIPS)
    v = votes[:, _HASH_IDX]  # (k, TABLES, HASH_BITS)
    bits = (v > VOTE_THRESHOLD).astype(np.uint8)
    cols = [bits]
    if FLIPS:
        doubt = np.argsort(np.abs(v - VOTE_THRESHOLD), axis=-1, kind="stable")[..., :FLIPS]
        for f in range(FLIPS):
            flipped = bits.copy()
            np.put_along_axis(flipped, doubt[..., f:f + 1], 1 - np.take_along_axis(bits, doubt[..., f:f + 1], -1), -1)
            cols.append(flipped)
    keys = np.stack([_keys_of(c) for c in cols], axis=-1).reshape(len(votes), -1)  # (k, TABLES·(1+FLIPS))
    tables = np.repeat(np.arange(TABLES), 1 + FLIPS)
    return _void_stopped(keys, tables), tables


@dataclass
class _Segment:
    """Immutable sorted postings: for table t, keys[tab[t]:tab[t+1]] are its non-empty buckets."""

    keys: np.ndarray  # uint32
    tab: np.ndarray  # (TABLES+1,) int64
    starts: np.ndarray  # (len(keys)+1,) int64
    owners: np.ndarray  # int32

    @property
    def postings(self) -> int:
        return int(self.owners.size)

    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.tab.nbytes + self.starts.nbytes + self.owners.nbytes)


def _build_table(keys: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One table's buckets: its unique keys (ascending), their sizes, and owners sorted by (key, owner)."""
    order = np.lexsort((owners, keys))
    keys, owners = keys[order], owners[order].astype(np.int32)
    first = np.ones(keys.size, bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first].astype(np.uint32), np.diff(np.append(np.nonzero(first)[0], keys.size)), owners


def _segment_of(tables: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> _Segment:
    """A segment from its TABLES tables' buckets (_build_table), in table order."""
    tab = np.concatenate([[0], np.cumsum([len(t[0]) for t in tables])]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(np.concatenate([t[1] for t in tables]))]).astype(np.int64)
    return _Segment(np.concatenate([t[0] for t in tables]).astype(np.uint32), tab, starts,
                    np.concatenate([t[2] for t in tables]).astype(np.int32))


def _build(table: np.ndarray, keys: np.ndarray, owners: np.ndarray) -> _Segment:
    """A segment from postings in any order, in one sort by (table, key, owner): the same segment as
    _segment_of over _build_table per table, without TABLES sorts' overhead on a small flush (the
    pipeline flushes one record's fingers before each search)."""
    order = np.lexsort((owners, keys, table))
    t, k, o = table[order], keys[order], owners[order].astype(np.int32)
    first = np.ones(k.size, bool)
    first[1:] = (k[1:] != k[:-1]) | (t[1:] != t[:-1])
    at = np.nonzero(first)[0]
    tab = np.searchsorted(t[at], np.arange(TABLES + 1)).astype(np.int64)
    return _Segment(k[at].astype(np.uint32), tab, np.append(at, k.size).astype(np.int64), o)


class FingerIndex:
    """MCC-LSH postings of one finger position; owners are int ids (≥ 0) given by the caller.

    add(owner, keys) is idempotent for an owner already present with the same keys only through
    the caller (the gallery gives a re-inserted reference a new owner id and removes the old one).
    """

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self._pending: list[tuple[int, np.ndarray]] = []
        self._owners = LiveOwners()
        self._dead_postings = 0
        self._lock = threading.Lock()
        self._kernel_args: tuple | None = None

    def __len__(self) -> int:
        return self._owners.count

    def add(self, owner: int, keys: np.ndarray) -> None:
        """Index one finger (keys from finger_keys) under owner; several fingers may share an owner."""
        if not 0 <= owner < 1 << (31 - MINUTIA_BITS):
            raise ValueError(f"owner id {owner} out of range")
        keys = np.asarray(keys, np.uint32)[: 1 << MINUTIA_BITS]
        with self._lock:
            self._owners.add(owner)
            if len(keys):
                self._pending.append((owner, np.asarray(keys, np.uint32)))
                if len(self._pending) >= PENDING_MAX:
                    self._flush()

    def remove(self, owner: int) -> None:
        """Forget an owner (no-op when absent); its postings go at the next merge."""
        with self._lock:
            self._owners.remove(owner)

    def postings(self) -> int:
        return sum(s.postings for s in self._segments) + sum(int((k != 0).sum()) for _, k in self._pending)

    def nbytes(self) -> int:
        """Bytes held by the postings, bucket tables and the alive flags."""
        return (sum(s.nbytes() for s in self._segments) + sum(k.nbytes for _, k in self._pending)
                + self._owners.nbytes)

    def _flush(self) -> None:
        if not self._pending:
            return
        # a posting is (owner << MINUTIA_BITS | minutia): collisions are counted per gallery cylinder
        owners = np.concatenate([((o << MINUTIA_BITS) | np.repeat(np.arange(len(k)), TABLES)).astype(np.int32)
                                 for o, k in self._pending])
        keys = np.concatenate([k.reshape(-1) for _, k in self._pending])
        table = np.concatenate([np.tile(np.arange(TABLES), len(k)) for _, k in self._pending])
        self._pending = []
        live = keys != 0  # an all-zero key (empty cells only) says nothing: not stored, not looked up
        self._segments.append(_build(table[live], keys[live], owners[live]))
        # merge while the newer segment is at least half the older one (log-many segments), up to the cap
        while len(self._segments) >= 2 and self._segments[-2].postings <= 2 * self._segments[-1].postings \
                and self._segments[-2].postings + self._segments[-1].postings <= SEGMENT_MAX:
            b, a = self._segments.pop(), self._segments.pop()
            self._segments.append(self._merge([a, b]))
        self._kernel_args = None

    def _merge(self, segs: list[_Segment]) -> _Segment:
        """One segment from several, removed owners dropped, built one table at a time: a merge then
        needs ~1/TABLES of the postings in temporaries. Built whole, the merge of two segments of
        ~45M postings each (~260,000 fingers) took ~7 GB at once, and two shards merging together
        made Ray's memory monitor kill one (bench/abis_million.py, 3 December). A small merge (most of
        them: each flush cascades into its smaller neighbours) is built in one sort instead."""
        if sum(s.postings for s in segs) <= WHOLE_BUILD_MAX:
            keys, table, owners = [], [], []
            for s in segs:
                sizes = np.diff(s.starts)
                keys.append(np.repeat(s.keys, sizes))
                table.append(np.repeat(np.repeat(np.arange(TABLES), np.diff(s.tab)), sizes))
                owners.append(s.owners)
            k, t, o = np.concatenate(keys), np.concatenate(table), np.concatenate(owners)
            live = self._owners.of(o >> MINUTIA_BITS)
            return _build(t[live], k[live], o[live])
        tables = []
        for t in range(TABLES):
            keys, owners = [], []
            for s in segs:
                lo, hi = int(s.tab[t]), int(s.tab[t + 1])
                keys.append(np.repeat(s.keys[lo:hi], np.diff(s.starts[lo:hi + 1])))
                owners.append(s.owners[s.starts[lo]:s.starts[hi]])
            k, o = np.concatenate(keys), np.concatenate(owners)
            live = self._owners.of(o >> MINUTIA_BITS)
            tables.append(_build_table(k[live], o[live]))
        return _segment_of(tables)

    def compact(self) -> None:
        """Merge neighbouring segments into as few as SEGMENT_MAX allows (one, below it), dropping
        removed owners."""
        with self._lock:
            self._flush()
            self._segments = [self._merge(g) if len(g) > 1 or not self._owners.of(g[0].owners >> MINUTIA_BITS).all()
                              else g[0] for g in neighbour_groups(self._segments, cap=SEGMENT_MAX)]
            self._kernel_args = None

    def search(self, probe: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(owners, scores) of every owner sharing a bucket with the probe finger (probe_keys); scores > 0."""
        keys, tables = np.asarray(probe[0], np.uint32), np.asarray(probe[1], np.int64)
        with self._lock:
            self._flush()
            if not len(keys) or not self._segments:
                return np.zeros(0, np.int32), np.zeros(0)
            if self._kernel_args is None:
                from numba.typed import List

                self._kernel_args = (List([s.keys for s in self._segments]),
                                     List([s.tab for s in self._segments]),
                                     List([s.starts for s in self._segments]),
                                     List([s.owners for s in self._segments]))
            owners, scores = mcc._kernels().lsh_search_pairs(keys, tables, TABLES, *self._kernel_args,
                                                             self._owners.flags, float(POWER), MINUTIA_BITS,
                                                             MIN_HITS)
        return owners, scores / len(keys)
