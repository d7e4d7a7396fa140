"""Compiled (numba) search of the triangle index; triangles.py documents the algorithm.

Nothing is compiled at import; `cache=True` keeps the machine code between processes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_GRID = 128  # translation bins either way of the pose cell grid (±64 bins of TR px)


@njit(cache=True, nogil=True)
def _bucket(keys, key):
    """Index of key in the ascending unique keys, -1 when absent."""
    j = np.searchsorted(keys, key)
    if j < keys.size and keys[j] == key:
        return j
    return -1


@njit(cache=True, nogil=True)
def pose_votes(pkeys, ptri, pphi, px, py, seg_keys, seg_starts, seg_owners, seg_poses, alive,
               phi_steps, rb, tr, pose_px, min_votes):
    """(owners, votes): per live owner hit by the probe, its most probe triangles agreeing on one pose
    cell (rotation rb bins × translation tr px, on two grids half a bin apart); owners below min_votes
    are left out.

    Hits are grouped by owner with a counting sort (two passes over the buckets), then each owner's
    few hits are counted per cell in a small hash table, once per probe triangle: work and memory
    linear in the hits, whatever the gallery's size.
    """
    nseg = len(seg_keys)
    nk = pkeys.size
    lo = np.full((nk, nseg), -1, np.int64)
    hi = np.full((nk, nseg), -1, np.int64)
    n_owner = alive.size
    count = np.zeros(n_owner + 1, np.int32)  # hits a probe makes stay far below 2^31
    for i in range(nk):
        for s in range(nseg):
            j = _bucket(seg_keys[s], pkeys[i])
            if j < 0:
                continue
            a, b = seg_starts[s][j], seg_starts[s][j + 1]
            lo[i, s], hi[i, s] = a, b
            owners = seg_owners[s]
            for q in range(a, b):
                o = owners[q]
                if alive[o]:
                    count[o + 1] += 1
    for o in range(n_owner):
        count[o + 1] += count[o]
    total = count[n_owner]
    fill = count[:n_owner].copy()
    hit_tri = np.empty(total, np.int32)
    hit_phi = np.empty(total, np.int32)  # rotation in steps of phi_steps
    hit_x = np.empty(total, np.float32)
    hit_y = np.empty(total, np.float32)
    cos_of = np.empty(phi_steps)
    sin_of = np.empty(phi_steps)
    for d in range(phi_steps):
        cos_of[d], sin_of[d] = math.cos(d * 2 * math.pi / phi_steps), math.sin(d * 2 * math.pi / phi_steps)
    for i in range(nk):
        t = ptri[i]
        for s in range(nseg):
            a = lo[i, s]
            if a < 0:
                continue
            owners, poses = seg_owners[s], seg_poses[s]
            for q in range(a, hi[i, s]):
                o = owners[q]
                if not alive[o]:
                    continue
                p = np.int64(poses[q])
                d = (pphi[t] - (p >> 24)) % phi_steps
                c, sn = cos_of[d], sin_of[d]
                gx, gy = ((p >> 12) & 4095) * pose_px, (p & 4095) * pose_px
                k = fill[o]
                fill[o] = k + 1
                hit_tri[k] = t
                hit_phi[k] = d
                hit_x[k] = px[t] - (c * gx - sn * gy)
                hit_y[k] = py[t] - (sn * gx + c * gy)
    out_o = []
    out_v = []
    per_rot = phi_steps // rb
    widest = 0
    for o in range(n_owner):
        widest = max(widest, count[o + 1] - count[o])
    # cells of one owner at a time in a small open-addressing table; a stamp per slot says which owner
    # wrote it, so nothing is cleared between owners
    size = 64
    while size < 4 * widest:
        size *= 2
    mask = size - 1
    slot_cell = np.empty(size, np.int64)
    slot_last = np.empty(size, np.int32)
    slot_votes = np.empty(size, np.int32)
    slot_stamp = np.full(size, -1, np.int64)
    for o in range(n_owner):
        a, b = count[o], count[o + 1]
        if b - a < min_votes:
            continue
        best = 0
        for k in range(a, b):  # ascending probe triangle: a repeat of (cell, triangle) is the slot's last
            t = hit_tri[k]
            for g in range(2):
                off = 0.5 * g
                r = ((hit_phi[k] + g * (per_rot // 2)) // per_rot) % rb
                bx = min(max(int(math.floor(hit_x[k] / tr + off)) + _GRID // 2, 0), _GRID - 1)
                by = min(max(int(math.floor(hit_y[k] / tr + off)) + _GRID // 2, 0), _GRID - 1)
                cell = np.int64(((g * rb + r) * _GRID + bx) * _GRID + by)
                h = (cell * 0x9E3779B1) & mask
                while slot_stamp[h] == o and slot_cell[h] != cell:
                    h = (h + 1) & mask
                if slot_stamp[h] != o:
                    slot_stamp[h], slot_cell[h], slot_last[h], slot_votes[h] = o, cell, t, 1
                elif slot_last[h] != t:
                    slot_last[h] = t
                    slot_votes[h] += 1
                if slot_votes[h] > best:
                    best = slot_votes[h]
        if best >= min_votes:
            out_o.append(o)
            out_v.append(best)
    res_o = np.empty(len(out_o), np.int32)
    res_v = np.empty(len(out_v), np.int32)
    for k in range(len(out_o)):
        res_o[k] = out_o[k]
        res_v[k] = out_v[k]
    return res_o, res_v
