"""Fingerprint indexing by minutia triangles with a pose vote: geometric hashing (after Germain, Califano
& Colville, "Fingerprint matching using transformation parameter clustering", IEEE CSE 1997; Bhanu &
Tan, "Fingerprint indexing based on novel features of minutiae triplets", IEEE TPAMI 2003).

A second finger index beside the MCC-LSH of index.py. Two poor captures of one finger still share many
small triangles of minutiae where their cylinders (whole neighbourhoods) differ too much to collide:
on the two thumbs the mate reached the 1M top 50 (projected from 10,000) for 96.7 % of finger-only
duplicates against the LSH's 83.7 % (bench/abis_triangle_index.py, docs/abis-sizing.md run J).

1. Triangles: each minutia with every pair of its K nearest neighbours; sides within [LMIN, LMAX] px.
2. A key of six numbers free of rotation and translation: vertices counter-clockwise from the one facing
   the longest side, the three sides (LW px bins) and each vertex's direction against the longest side
   (AB bins). A near tie for the longest side (within TIE px) also gives the probe the other labelling.
3. A probe looks up its key and, for each number near a bin edge (within DL / DA of a bin), the
   neighbour bin too, so a mated triangle whose side or angle crossed an edge still meets its partner.
4. A posting keeps its triangle's pose: the longest side's direction (PHI_STEPS steps) and the
   centroid (POSE_PX px steps). A hit votes for (owner, the rotation and translation carrying the gallery
   triangle onto the probe's), once per probe triangle; an owner's score is its fullest pose cell
   (RB rotation bins × TR px, on two grids half a bin apart so a pose on an edge is not split). A mate's
   triangles agree on one pose; chance collisions scatter. The score depends on the probe and that
   owner's postings only, so shards answer exactly like one index.

Storage: immutable segments (unique keys ascending, bucket starts, owners, packed poses), a pending
buffer flushed before a search, segments of similar size merged up to SEGMENT_MAX postings (dropping
removed owners). Stop-listed keys (stoplist.py) are neither stored nor looked up. Memory: 8 bytes a
posting (owner, pose; ~239 postings a finger) plus 12 bytes per non-empty bucket (at most ~10M keys a
segment, so that part stops growing: 2,626 bytes a finger in all at 10,000).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ktpel.biometrics.fingerprint import stoplist
from ktpel.biometrics.fingerprint.owners import LiveOwners
from ktpel.biometrics.fingerprint.segments import neighbour_groups

K = 7  # nearest neighbours each minutia forms triangles with
LMIN, LMAX = 12.0, 140.0  # px: sides outside are unstable (too short) or span distortion (too long)
LW = 8.0  # px per side bin
AB = 12  # direction bins (30°)
DL, DA = 0.3, 0.25  # within this share of a bin from its edge, the probe also looks in the neighbour
TIE = 4.0  # px: longest sides this close are labelled both ways at the probe
RB = 32  # rotation bins of the pose vote (11.25°)
TR = 24.0  # px per translation bin of the pose vote
PHI_STEPS = 256  # a posting's direction, quantised (RB divides it)
POSE_PX = 0.5  # a posting's centroid step; 12 bits a coordinate: images up to 2,047 px
MIN_VOTES = 2  # one agreeing triangle is chance: an owner needs this many in one pose cell
PENDING_MAX = 4096  # fingers buffered before they become a segment
# Segments stop growing at this many postings (~200,000 fingers, 512 MB): a merge sorts its postings
# whole (~40 bytes a posting at the peak), so an unbounded one at a shard of 1M identities (~680M
# postings) would need ~27 GB at once; capped, ~2.7 GB. Past the cap a search visits one more
# segment per SEGMENT_MAX postings (a binary search per key in each).
SEGMENT_MAX = 1 << 26


def _triangles(minutiae: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 9) per triangle: sides (longest first, counter-clockwise), each vertex's direction against the
    longest side, that side's direction, centroid x, y; and which rows are a near tie's other labelling."""
    m = np.asarray(minutiae, np.float64)
    n = len(m)
    if n < 3:
        return np.zeros((0, 9)), np.zeros(0, bool)
    xy, th = m[:, :2], m[:, 2]
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    k = min(K, n - 1)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    a, b = np.triu_indices(k, 1)
    t = np.sort(np.column_stack([np.repeat(np.arange(n), len(a)), nn[:, a].ravel(), nn[:, b].ravel()]), axis=1)
    # each triangle once, in row order: unique on one integer per row (np.unique(axis=0)'s order, ~5× faster)
    code = np.unique((t[:, 0] * n + t[:, 1]) * n + t[:, 2])
    a, b, c = code // (n * n), code // n % n, code % n
    cross = (xy[b, 0] - xy[a, 0]) * (xy[c, 1] - xy[a, 1]) - (xy[b, 1] - xy[a, 1]) * (xy[c, 0] - xy[a, 0])
    v = np.stack([a, np.where(cross < 0, c, b), np.where(cross < 0, b, c)], 1)  # counter-clockwise
    opp = np.stack([d[v[:, 1], v[:, 2]], d[v[:, 2], v[:, 0]], d[v[:, 0], v[:, 1]]], 1)
    ok = (opp.min(1) >= LMIN) & (opp.max(1) <= LMAX)
    order = np.argsort(-opp, axis=1, kind="stable")
    rows = np.arange(len(opp))
    tie = opp[rows, order[:, 0]] - opp[rows, order[:, 1]] < TIE
    out, alt = [], []
    for start, sel in ((order[:, 0], rows), (order[:, 1], np.nonzero(tie)[0])):
        turn = (start[sel, None] + np.arange(3)) % 3
        vv, ll = np.take_along_axis(v[sel], turn, 1), np.take_along_axis(opp[sel], turn, 1)
        p1, p2 = xy[vv[:, 1]], xy[vv[:, 2]]
        phi = np.arctan2(p2[:, 1] - p1[:, 1], p2[:, 0] - p1[:, 0])
        beta = np.mod(th[vv] - phi[:, None], 2 * np.pi)
        out.append(np.column_stack([ll, beta, phi, xy[vv].mean(1)])[ok[sel]])
        alt.append(np.full(int(ok[sel].sum()), sel is not rows))
    return np.concatenate(out), np.concatenate(alt)


def _bins(f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lv = (f[:, :3] - LMIN) / LW
    av = f[:, 3:6] / (2 * np.pi / AB)
    lb, ab = np.floor(lv), np.floor(av)
    return lb.astype(np.int64), lv - lb, ab.astype(np.int64) % AB, av - ab


def _pack(lb: np.ndarray, ab: np.ndarray) -> np.ndarray:
    nl = int(np.ceil((LMAX - LMIN) / LW)) + 2  # side bins (with one either side for the probe's neighbours)
    key = np.zeros(len(lb), np.int64)
    for j in range(3):
        key = key * nl + np.clip(lb[:, j], 0, nl - 1)
    for j in range(3):
        key = key * AB + ab[:, j]
    return key.astype(np.uint32)  # < 18³·12³ ≈ 10M


def _phi_step(phi: np.ndarray) -> np.ndarray:
    return np.round(np.mod(phi, 2 * np.pi) / (2 * np.pi / PHI_STEPS)).astype(np.int64) % PHI_STEPS


def _poses(f: np.ndarray) -> np.ndarray:
    """uint32 pose of each triangle: direction step (8 bits), centroid x and y (12 bits each)."""
    xy = np.clip(np.round(f[:, 7:9] / POSE_PX), 0, 4095).astype(np.int64)
    return ((_phi_step(f[:, 6]) << 24) | (xy[:, 0] << 12) | xy[:, 1]).astype(np.uint32)


def stop_signature() -> np.ndarray:
    """The parameters that determine the keys: a stop list measured under others does not apply."""
    return np.array([K, round(LMIN * 100), round(LMAX * 100), round(LW * 100), AB, round(TIE * 100)], np.int64)


def _stop() -> np.ndarray:
    return stoplist.stop_codes("triangles", signature=stop_signature())


def raw_finger_triangles(minutiae: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One finger's triangles' keys and packed poses (one labelling each), stop-listed keys included."""
    f, alt = _triangles(minutiae)
    f = f[~alt]
    lb, _, ab, _ = _bins(f)
    return _pack(lb, ab), _poses(f)


def finger_triangles(minutiae: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the index stores of one finger: its triangles' keys and poses, less the stop-listed keys.

    The common triangles (small, regular ones) fill a few huge buckets that identify no one
    (stoplist.py): at 10,000 identities leaving out those over 20× the mean bucket cut the search's CPU
    from 22.7 to 16.1 ms for two thumbs, and the mates ranked better (bench/abis_triangle_index.py
    [--no-stop-list]; run I); over 10× (the shipped list), from 22.2 to 10.7 ms in one run, a sixth of
    the postings fewer, the mates no worse (run J)."""
    keys, poses = raw_finger_triangles(minutiae)
    keep = ~stoplist.listed(keys, _stop())
    return keys[keep], poses[keep]


@dataclass(frozen=True)
class TriangleProbe:
    """A probe finger's lookups: keys (with bin-edge neighbours) sorted by the triangle they come from,
    and each triangle's direction step and centroid."""

    keys: np.ndarray  # uint32
    triangle: np.ndarray  # int32, ascending
    phi: np.ndarray  # int64 steps of PHI_STEPS
    x: np.ndarray  # float64 px
    y: np.ndarray


def probe_triangles(minutiae: np.ndarray) -> TriangleProbe:
    """A probe finger's triangles, both labellings of a near tie, each key with its bin-edge neighbours."""
    f, _ = _triangles(minutiae)
    lb, lf, ab, af = _bins(f)
    # per number: which way its neighbour bin lies (0: not near an edge)
    near = np.concatenate([np.where(lf < DL, -1, np.where(lf > 1 - DL, 1, 0)),
                           np.where(af < DA, -1, np.where(af > 1 - DA, 1, 0))], axis=1)
    # every combination of numbers moved to their neighbour bin: per number, the rows near an edge twice
    bins, tri = np.concatenate([lb, ab], axis=1), np.arange(len(f))
    for j in range(6):
        at = np.nonzero(near[tri, j])[0]
        moved = bins[at].copy()
        moved[:, j] += near[tri[at], j]
        bins, tri = np.concatenate([bins, moved]), np.concatenate([tri, tri[at]])
    k, t = _pack(bins[:, :3], bins[:, 3:] % AB), tri.astype(np.int32)
    keep = ~stoplist.listed(k, _stop())
    k, t = k[keep], t[keep]
    order = np.argsort(t, kind="stable")
    return TriangleProbe(k[order], t[order], _phi_step(f[:, 6]), f[:, 7].copy(), f[:, 8].copy())


@dataclass
class _Segment:
    keys: np.ndarray  # uint32, unique ascending
    starts: np.ndarray  # (len(keys)+1,) int64
    owners: np.ndarray  # int32, by (key, owner)
    poses: np.ndarray  # uint32, beside owners

    @property
    def postings(self) -> int:
        return int(self.owners.size)

    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.starts.nbytes + self.owners.nbytes + self.poses.nbytes)


def _build(keys: np.ndarray, owners: np.ndarray, poses: np.ndarray) -> _Segment:
    order = np.lexsort((poses, owners, keys))
    k = keys[order]
    first = np.ones(k.size, bool)
    first[1:] = k[1:] != k[:-1]
    at = np.nonzero(first)[0]
    return _Segment(k[at].astype(np.uint32), np.append(at, k.size).astype(np.int64),
                    owners[order].astype(np.int32), poses[order].astype(np.uint32))


class TriangleIndex:
    """Triangle postings of one finger position; owners are int ids (≥ 0) given by the caller, as in
    index.FingerIndex (the gallery gives a re-inserted reference a new id and removes the old one)."""

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self._pending: list[tuple[int, np.ndarray, np.ndarray]] = []
        self._owners = LiveOwners()
        self._lock = threading.Lock()
        self._kernel_args: tuple | None = None

    def __len__(self) -> int:
        return self._owners.count

    def add(self, owner: int, keys: np.ndarray, poses: np.ndarray) -> None:
        """Index one finger (finger_triangles) under owner; several fingers may share an owner."""
        if not 0 <= owner < 1 << 31:
            raise ValueError(f"owner id {owner} out of range")
        if len(keys) != len(poses):
            raise ValueError("one pose per key")
        with self._lock:
            self._owners.add(owner)
            if len(keys):
                self._pending.append((owner, np.asarray(keys, np.uint32), np.asarray(poses, np.uint32)))
                if len(self._pending) >= PENDING_MAX:
                    self._flush()

    def remove(self, owner: int) -> None:
        """Forget an owner (no-op when absent); its postings go at the next merge."""
        with self._lock:
            self._owners.remove(owner)

    def postings(self) -> int:
        return sum(s.postings for s in self._segments) + sum(len(k) for _, k, _ in self._pending)

    def nbytes(self) -> int:
        return (sum(s.nbytes() for s in self._segments) + sum(k.nbytes + p.nbytes for _, k, p in self._pending)
                + self._owners.nbytes)

    def _flush(self) -> None:
        if not self._pending:
            return
        owners = np.concatenate([np.full(len(k), o, np.int32) for o, k, _ in self._pending])
        keys = np.concatenate([k for _, k, _ in self._pending])
        poses = np.concatenate([p for _, _, p in self._pending])
        self._pending = []
        self._segments.append(_build(keys, owners, poses))
        while len(self._segments) >= 2 and self._segments[-2].postings <= 2 * self._segments[-1].postings \
                and self._segments[-2].postings + self._segments[-1].postings <= SEGMENT_MAX:
            b, a = self._segments.pop(), self._segments.pop()
            self._segments.append(self._merge([a, b]))
        self._kernel_args = None

    def _merge(self, segs: list[_Segment]) -> _Segment:
        """One segment from several, removed owners dropped."""
        keys = np.concatenate([np.repeat(s.keys, np.diff(s.starts)) for s in segs])
        owners = np.concatenate([s.owners for s in segs])
        poses = np.concatenate([s.poses for s in segs])
        live = self._owners.of(owners)
        return _build(keys[live], owners[live], poses[live])

    def compact(self) -> None:
        """Merge neighbouring segments into as few as SEGMENT_MAX allows (one, below it), dropping
        removed owners."""
        with self._lock:
            self._flush()
            self._segments = [self._merge(g) if len(g) > 1 or not self._owners.of(g[0].owners).all() else g[0]
                              for g in neighbour_groups(self._segments, cap=SEGMENT_MAX)]
            self._kernel_args = None

    def search(self, probe: TriangleProbe) -> tuple[np.ndarray, np.ndarray]:
        """(owners, votes) of every owner with at least MIN_VOTES probe triangles agreeing on one pose."""
        with self._lock:
            self._flush()
            if not len(probe.keys) or not self._segments:
                return np.zeros(0, np.int32), np.zeros(0)
            if self._kernel_args is None:
                from numba.typed import List

                self._kernel_args = (List([s.keys for s in self._segments]), List([s.starts for s in self._segments]),
                                     List([s.owners for s in self._segments]), List([s.poses for s in self._segments]))
            from ktpel.biometrics.fingerprint import triangle_kernels

            owners, votes = triangle_kernels.pose_votes(
                probe.keys, probe.triangle, probe.phi, probe.x, probe.y, *self._kernel_args, self._owners.flags,
                PHI_STEPS, RB, TR, POSE_PX, MIN_VOTES)
        return owners, votes.astype(np.float64)
