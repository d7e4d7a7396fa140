"""Compiled (numba) kernels of the MCC-style matcher; mcc.py documents the algorithm.

The kernels reproduce the NumPy formulation operation by operation: same dtypes (float32
cylinders and similarities, float64 geometry), same evaluation order, no fastmath, and sums
taken in NumPy's pairwise order, so scores agree with a NumPy evaluation to rounding.
Nothing is compiled at import; `cache=True` keeps the machine code between processes. The entry
points release the GIL, as the NumPy code they replace mostly did.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_TWO_PI = 2 * np.pi
# A spatial vote below this is left out of a cylinder: a change far below float32's resolution of the
# squashed cells (~6e-8), which the matcher keeps; the index's binary cells flip only at a vote
# within 1e-12 of its threshold.
NEGLIGIBLE = 1e-12
_PW_BLOCK = 128  # NumPy's pairwise-summation block size
_PW_DEPTH1, _PW_DEPTH2 = 248, 488  # the longest ranges whose halvings end in leaves after 1 and 2 splits


@njit(cache=True, inline="always")
def _angdiff(a, b):
    """Signed difference a-b wrapped to [-π, π), bit for bit NumPy's (a - b + π) % 2π - π.

    Within one turn of the range the floored modulo is x or x + 2π exactly as NumPy computes it;
    only other values pay for the fmod-based general case.
    """
    x = a - b + np.pi
    if 0.0 <= x < _TWO_PI:
        return x - np.pi
    if -_TWO_PI < x < 0.0:
        return (x + _TWO_PI) - np.pi
    return x % _TWO_PI - np.pi


@njit(cache=True)
def _block_sum(a, start, n, zero):
    """NumPy's pairwise-summation leaf (n ≤ 128): eight running sums, then the remainder."""
    if n < 8:
        res = zero
        for i in range(start, start + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    stop = start + n - n % 8
    i = start + 8
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(stop, start + n):
        res += a[i]
    return res


@njit(cache=True, inline="always")
def _half(n):
    """Where NumPy splits a range of n > 128 items: the half rounded down to a multiple of 8."""
    h = n // 2
    return h - h % 8


@njit(cache=True)
def _pairwise_sum_1(a, start, n, zero):
    """_pairwise_sum for n ≤ _PW_DEPTH1: both halves of a split are leaves."""
    if n <= _PW_BLOCK:
        return _block_sum(a, start, n, zero)
    h = _half(n)
    return _block_sum(a, start, h, zero) + _block_sum(a, start + h, n - h, zero)


@njit(cache=True)
def _pairwise_sum_2(a, start, n, zero):
    """_pairwise_sum for n ≤ _PW_DEPTH2 (a cylinder's 312 values among them), without the stack's arrays."""
    if n <= _PW_BLOCK:
        return _block_sum(a, start, n, zero)
    h = _half(n)
    return _pairwise_sum_1(a, start, h, zero) + _pairwise_sum_1(a, start + h, n - h, zero)


@njit(cache=True)
def _pairwise_sum(a, start, n, zero):
    """Sum of a[start:start+n] in NumPy's add.reduce order; `zero` fixes the accumulator type.

    NumPy halves ranges over 128 (the half rounded down to a multiple of 8) and adds the halves.
    Up to two levels of halving are unrolled (no allocation: this runs once per minutia); deeper,
    the recursion runs on an explicit stack: numba's on-disk cache breaks recursive functions
    (numba issue #6061).
    """
    if n <= _PW_DEPTH2:
        return _pairwise_sum_2(a, start, n, zero)
    todo_start = np.empty(128, np.int64)
    todo_n = np.empty(128, np.int64)  # -1 marks "add the last two partial sums"
    partial = np.full(128, zero)
    todo_start[0], todo_n[0] = start, n
    top, depth = 1, 0
    while top:
        top -= 1
        s0, m = todo_start[top], todo_n[top]
        if m < 0:
            depth -= 1
            partial[depth - 1] = partial[depth - 1] + partial[depth]
        elif m <= _PW_BLOCK:
            partial[depth] = _block_sum(a, s0, m, zero)
            depth += 1
        else:
            half = _half(m)
            todo_start[top], todo_n[top] = 0, -1  # runs after both halves (LIFO)
            todo_start[top + 1], todo_n[top + 1] = s0 + half, m - half
            todo_start[top + 2], todo_n[top + 2] = s0, half  # left half first
            top += 3
    return partial[0]


# --- cylinders -------------------------------------------------------------------------------


@njit(cache=True)
def _reach(g, cell_i, cell_j, sigma_s):
    """Constants of _votes for one grid: the squared reach and the recurrence's step and factors.

    A neighbour farther than `reach` from m is farther than `cut` from every cell centre (triangle
    inequality), so it adds less than NEGLIGIBLE to any cell: skipped (pairs across a large print).
    """
    ks = 2 * sigma_s**2
    far = 0.0
    for q in range(cell_i.size):
        far = max(far, g[cell_i[q]] ** 2 + g[cell_j[q]] ** 2)
    cut = math.sqrt(-ks * math.log(NEGLIGIBLE))
    ng = g.size
    h = g[1] - g[0] if ng > 1 else 0.0
    grow = np.empty(max(ng - 1, 1))
    for a in range(ng - 1):
        grow[a] = math.exp(-(2 * g[a] * h + h * h) / ks)
    return (math.sqrt(far) + cut) ** 2, h, grow


@njit(cache=True)
def _votes(acc, ex, ey, cs, xy, theta, m, g, cell_i, cell_j, bins, sigma_s, sigma_d, reach2, h, grow):
    """acc (ND, cells) := summed spatial × directional Gaussians of minutia m's neighbours.

    Cell q is at (g[cell_i[q]], g[cell_j[q]]) in m's frame. Distances are rotation invariant, so
    the spatial Gaussian separates along that frame's axes. The grid is evenly spaced (step h), so
    along an axis exp(-(g[a+1]-u)²/ks) = exp(-(g[a]-u)²/ks) · exp(2uh/ks) · exp(-(2g[a]h + h²)/ks):
    two exponentials per axis and neighbour, not len(g) (the products agree with the direct
    exponentials to ~1e-15 relative: far below float32's resolution of the squashed cells).
    ex, ey (len(g)) and cs (cells) are scratch; reach2, h, grow come from _reach. The caller owns
    the buffers: one allocation per finger, not per minutia.
    """
    ncell, nd, ng = cell_i.size, bins.size, g.size
    ks, kd = 2 * sigma_s**2, 2 * sigma_d**2
    acc[:] = 0.0
    c, s = math.cos(theta[m]), math.sin(theta[m])
    for t in range(xy.shape[0]):
        if t == m:
            continue
        dx, dy = xy[t, 0] - xy[m, 0], xy[t, 1] - xy[m, 1]
        if dx * dx + dy * dy > reach2:
            continue
        ux, uy = c * dx + s * dy, -s * dx + c * dy  # neighbour t in m's frame
        ex[0] = math.exp(-((g[0] - ux) ** 2) / ks)
        ey[0] = math.exp(-((g[0] - uy) ** 2) / ks)
        if ng > 1:
            sx, sy = math.exp(2 * ux * h / ks), math.exp(2 * uy * h / ks)
            for a in range(ng - 1):
                ex[a + 1] = ex[a] * sx * grow[a]
                ey[a + 1] = ey[a] * sy * grow[a]
        for q in range(ncell):
            cs[q] = ex[cell_i[q]] * ey[cell_j[q]]
        dth = _angdiff(theta[t], theta[m])
        for k in range(nd):
            cd = math.exp(-_angdiff(bins[k], dth) ** 2 / kd)
            for q in range(ncell):
                acc[k, q] += cs[q] * cd


@njit(cache=True)
def _squash_into(acc, row, sq):
    """Sigmoid of the (ND, cells) votes into row (cell-major, float32), then unit L2 norm.

    The norm is summed in float32 in NumPy's order, as np.linalg.norm does on float32 rows; sq
    (row.size, float32) is scratch.
    """
    nd, ncell = acc.shape
    for q in range(ncell):
        for k in range(nd):
            v = np.float32(1.0 / (1.0 + math.exp(-20.0 * (acc[k, q] - 0.3))))
            row[q * nd + k] = v
            sq[q * nd + k] = v * v
    norm = np.float32(math.sqrt(_pairwise_sum(sq, 0, sq.size, np.float32(0.0))))
    norm = max(norm, np.float32(1e-6))
    for e in range(row.size):
        row[e] = row[e] / norm


@njit(cache=True, nogil=True)  # threads (bulk enrolment) run in parallel
def cylinders(xy, theta, g, cell_i, cell_j, bins, sigma_s, sigma_d):
    """(n, cells·ND) float32 unit rows, one per minutia; see mcc.cylinders."""
    n = xy.shape[0]
    ncell, nd = cell_i.size, bins.size
    out = np.empty((n, ncell * nd), np.float32)
    reach2, h, grow = _reach(g, cell_i, cell_j, sigma_s)
    acc, sq = np.empty((nd, ncell)), np.empty(ncell * nd, np.float32)
    ex, ey, cs = np.empty(g.size), np.empty(g.size), np.empty(ncell)
    for m in range(n):
        _votes(acc, ex, ey, cs, xy, theta, m, g, cell_i, cell_j, bins, sigma_s, sigma_d, reach2, h, grow)
        _squash_into(acc, out[m], sq)
    return out


# --- matching --------------------------------------------------------------------------------


@njit(cache=True)
def _top_pairs(sim, k):
    """Row and column of the k largest similarities (as a set; ties keep the earliest)."""
    na, nb = sim.shape
    ii, jj = np.empty(k, np.int64), np.empty(k, np.int64)
    val = np.empty(k, np.float32)
    n, lo = 0, 0  # pairs kept so far, slot of the smallest kept value
    for i in range(na):
        for j in range(nb):
            v = sim[i, j]
            if n < k:
                ii[n], jj[n], val[n] = i, j, v
                if v < val[lo]:
                    lo = n
                n += 1
            elif v > val[lo]:
                ii[lo], jj[lo], val[lo] = i, j, v
                for r in range(k):
                    if val[r] < val[lo]:
                        lo = r
    return ii, jj


@njit(cache=True)
def _rank(values, count):
    """Indices of the `count` largest values, largest first (ties: lower index first)."""
    taken = np.zeros(values.size, np.bool_)
    out = np.empty(min(count, values.size), np.int64)
    for r in range(out.size):
        best = -1
        for m in range(values.size):
            if not taken[m] and (best < 0 or values[m] > values[best]):
                best = m
        taken[best] = True
        out[r] = best
    return out


@njit(cache=True, inline="always")
def _row_weights(px, py, th, t, sim, bx, by, thb, dtol, atol, colmax, wrow):
    """Best weight of A's minutia t, moved to (px, py, th), against B's minutiae.

    Also raises B's column maxima in colmax and stores the weights in wrow (row t of w).
    """
    best = 0.0
    for u in range(bx.size):
        d2 = (px - bx[u]) ** 2 + (py - by[u]) ** 2
        if d2 < dtol**2 and abs(_angdiff(th, thb[u])) < atol:
            sv = max(sim[t, u], np.float32(0.0))
            w = sv * (1.0 - 0.5 * math.sqrt(d2) / dtol)
            wrow[u] = w
            best = max(best, w)
            colmax[u] = max(colmax[u], w)
    return best


@njit(cache=True, inline="always")
def _seed_alignment(tha, thb, i, j):
    """Rotation taking minutia i of A onto minutia j of B, with its cos and sin."""
    phi = thb[j] - tha[i]
    return phi, math.cos(phi), math.sin(phi)


@njit(cache=True)
def _seed_weights(xa, tha, bx, by, thb, sim, ii, jj, dtol, atol):
    """Weight of each seed alignment: min over the two prints of the summed best pair weights."""
    na, nb = xa.shape[0], bx.size
    per = np.empty(ii.size)
    rowmax = np.empty(na)
    colmax = np.empty(nb)
    wrow = np.empty(nb)
    for m in range(ii.size):
        i, j = ii[m], jj[m]
        phi, c, s = _seed_alignment(tha, thb, i, j)
        colmax[:] = 0.0
        for t in range(na):
            ax, ay = xa[t, 0] - xa[i, 0], xa[t, 1] - xa[i, 1]
            px = c * ax - s * ay + bx[j]
            py = s * ax + c * ay + by[j]
            rowmax[t] = _row_weights(px, py, tha[t] + phi, t, sim, bx, by, thb, dtol, atol,
                                     colmax, wrow)
        per[m] = min(_pairwise_sum(rowmax, 0, na, 0.0), _pairwise_sum(colmax, 0, nb, 0.0))
    return per


@njit(cache=True)
def _pair_weight(xa, tha, bx, by, thb, sim, phi, t_x, t_y, dtol, atol, w, rowmax):
    """Weight of the alignment p_B = R(phi) p_A + t; fills w (n_a, n_b) and its row maxima."""
    na, nb = xa.shape[0], bx.size
    c, s = math.cos(phi), math.sin(phi)
    colmax = np.zeros(nb)
    w[:, :] = 0.0
    for t in range(na):
        px = c * xa[t, 0] - s * xa[t, 1] + t_x
        py = s * xa[t, 0] + c * xa[t, 1] + t_y
        rowmax[t] = _row_weights(px, py, tha[t] + phi, t, sim, bx, by, thb, dtol, atol,
                                 colmax, w[t])
    return min(_pairwise_sum(rowmax, 0, na, 0.0), _pairwise_sum(colmax, 0, nb, 0.0))


@njit(cache=True)
def _refine(xa, xb, w, rowmax):
    """Kabsch fit on the pairs that are their row's best (row-major order, like np.nonzero).

    Returns (ok, phi, tx, ty); ok is False with under 3 pairs.
    """
    na, nb = w.shape
    ia = np.empty(na * nb, np.int64)
    ib = np.empty(na * nb, np.int64)
    p = 0
    for t in range(na):
        for u in range(nb):
            if w[t, u] > 0 and w[t, u] == rowmax[t]:
                ia[p], ib[p] = t, u
                p += 1
    if p < 3:
        return False, 0.0, 0.0, 0.0
    ca0 = ca1 = cb0 = cb1 = 0.0
    for q in range(p):  # mean over axis 0 accumulates sequentially in NumPy
        ca0 += xa[ia[q], 0]
        ca1 += xa[ia[q], 1]
        cb0 += xb[ib[q], 0]
        cb1 += xb[ib[q], 1]
    ca0, ca1, cb0, cb1 = ca0 / p, ca1 / p, cb0 / p, cb1 / p
    cross = np.empty(p)
    dot = np.empty(2 * p)  # np.sum(qa * qb) runs over the flattened (p, 2) product
    for q in range(p):
        qa0, qa1 = xa[ia[q], 0] - ca0, xa[ia[q], 1] - ca1
        qb0, qb1 = xb[ib[q], 0] - cb0, xb[ib[q], 1] - cb1
        cross[q] = qa0 * qb1 - qa1 * qb0
        dot[2 * q], dot[2 * q + 1] = qa0 * qb0, qa1 * qb1
    # libm atan2: NumPy's SIMD arctan2 may differ in the last bit, the one known rounding gap
    phi = math.atan2(_pairwise_sum(cross, 0, p, 0.0), _pairwise_sum(dot, 0, 2 * p, 0.0))
    c, s = math.cos(phi), math.sin(phi)
    return True, phi, cb0 - (c * ca0 - s * ca1), cb1 - (s * ca0 + c * ca1)


@njit(cache=True)
def _inside_count(px, py, hull, pad):
    """How many points lie inside the convex polygon `hull` grown by pad (either winding)."""
    h = hull.shape[0]
    if h < 3:
        return 0
    area2 = np.empty(h)
    for e in range(h):
        f = (e + 1) % h
        area2[e] = hull[e, 0] * hull[f, 1] - hull[f, 0] * hull[e, 1]
    sign = -1.0 if _pairwise_sum(area2, 0, h, 0.0) < 0 else 1.0
    count = 0
    for q in range(px.size):
        inside = True
        for e in range(h):
            f = (e + 1) % h
            ex, ey = hull[f, 0] - hull[e, 0], hull[f, 1] - hull[e, 1]
            length = math.sqrt(ex * ex + ey * ey) + 1e-9
            cr = (ex * (py[q] - hull[e, 1]) - ey * (px[q] - hull[e, 0])) / length
            if sign * cr < -pad:
                inside = False
                break
        count += inside
    return count


@njit(cache=True)
def _orientation_agreement(o_xy, o_th, grid, block, phi, tx, ty, min_blocks):
    """Mean cos 2Δθ of A's field moved onto B's grid; 0 when under min_blocks blocks overlap."""
    c, s = math.cos(phi), math.sin(phi)
    rows, cols = grid.shape
    vals = np.empty(o_th.size)
    n = 0
    for q in range(o_th.size):
        qx = c * o_xy[q, 0] - s * o_xy[q, 1] + tx
        qy = s * o_xy[q, 0] + c * o_xy[q, 1] + ty
        bi, bj = math.floor(qy / block), math.floor(qx / block)
        if 0 <= bi < rows and 0 <= bj < cols and not np.isnan(grid[bi, bj]):
            vals[n] = math.cos(2 * (o_th[q] + phi - grid[bi, bj]))
            n += 1
    if n == 0 or n < min_blocks:
        return 0.0
    return _pairwise_sum(vals, 0, n, 0.0) / n


@njit(cache=True)
def _overlaps(xa, bx, by, hulla, hullb, i, j, c, s, pad):
    """Minutiae of A inside B's hull and of B inside A's moved hull, seed alignment i → j."""
    na = xa.shape[0]
    px, py = np.empty(na), np.empty(na)
    for t in range(na):
        ax, ay = xa[t, 0] - xa[i, 0], xa[t, 1] - xa[i, 1]
        px[t] = c * ax - s * ay + bx[j]
        py[t] = s * ax + c * ay + by[j]
    hull_t = np.empty_like(hulla)
    for e in range(hulla.shape[0]):
        hx, hy = hulla[e, 0] - xa[i, 0], hulla[e, 1] - xa[i, 1]
        hull_t[e, 0] = c * hx - s * hy + bx[j]
        hull_t[e, 1] = s * hx + c * hy + by[j]
    return _inside_count(px, py, hullb, pad), _inside_count(bx, by, hull_t, pad)


@njit(cache=True)
def _refined(xa, tha, xb, bx, by, thb, sim, weight, tr, dtol, atol):
    """(weight, transform) after one Kabsch refit on the alignment's pairs, if that weighs more."""
    w, rowmax = np.empty((xa.shape[0], bx.size)), np.empty(xa.shape[0])
    _pair_weight(xa, tha, bx, by, thb, sim, tr[0], tr[1], tr[2], dtol, atol, w, rowmax)
    ok, phi, tx, ty = _refine(xa, xb, w, rowmax)
    if ok:
        w2 = _pair_weight(xa, tha, bx, by, thb, sim, phi, tx, ty, dtol, atol, w, rowmax)
        if w2 > weight:
            return w2, (phi, tx, ty)
    return weight, tr


@njit(cache=True, nogil=True)  # threads (bulk enrolment) run in parallel
def match(xa, tha, hulla, o_xy, o_th, xb, thb, hullb, grid, block, has_field, sim, params):
    """(score, phi, tx, ty) of print A against print B; both have at least 3 minutiae.

    params = (topk, dtol, atol, kmin, hull_pad, consolidate, refine, orient_gain, orient_ref,
    orient_min_blocks). has_field is False when either print lacks an orientation field.
    """
    topk, dtol, atol, kmin, pad, consolidate, refine, gain, ref, min_blocks = params
    na, nb = xa.shape[0], xb.shape[0]
    bx, by = xb[:, 0].copy(), xb[:, 1].copy()  # contiguous columns keep the pair loops tight
    ii, jj = _top_pairs(sim, min(topk, na * nb))
    per = _seed_weights(xa, tha, bx, by, thb, sim, ii, jj, dtol, atol)
    best = (0.0, 0.0, 0.0, 0.0)
    for m in _rank(per, consolidate):
        weight = per[m]
        if weight <= 0.0:
            break
        i, j = ii[m], jj[m]
        phi, c, s = _seed_alignment(tha, thb, i, j)
        na_ov, nb_ov = _overlaps(xa, bx, by, hulla, hullb, i, j, c, s, pad)
        tr = (phi, bx[j] - (c * xa[i, 0] - s * xa[i, 1]), by[j] - (s * xa[i, 0] + c * xa[i, 1]))
        if refine:
            weight, tr = _refined(xa, tha, xb, bx, by, thb, sim, weight, tr, dtol, atol)
        o = ref
        if has_field:
            o = _orientation_agreement(o_xy, o_th, grid, block, tr[0], tr[1], tr[2], min_blocks)
        score = weight**2 / (max(na_ov, kmin) * max(nb_ov, kmin)) * math.exp(gain * (o - ref))
        if score > best[0]:
            best = (score, tr[0], tr[1], tr[2])
    return best


# --- binary cylinders for the 1:N index (fingerprint/index.py) ---------------------------------


@njit(cache=True, nogil=True)
def cylinder_votes(xy, theta, g, cell_i, cell_j, bins, sigma_s, sigma_d, radius):
    """(n, cells·ND) float32 vote sums (cell-major) and each minutia's neighbour count within radius."""
    n = xy.shape[0]
    nd, ncell = bins.size, cell_i.size
    votes = np.zeros((n, ncell * nd), np.float32)
    neighbours = np.zeros(n, np.int64)
    reach2, h, grow = _reach(g, cell_i, cell_j, sigma_s)
    acc, ex, ey, cs = np.empty((nd, ncell)), np.empty(g.size), np.empty(g.size), np.empty(ncell)
    for m in range(n):
        _votes(acc, ex, ey, cs, xy, theta, m, g, cell_i, cell_j, bins, sigma_s, sigma_d, reach2, h, grow)
        for q in range(ncell):
            for k in range(nd):
                votes[m, q * nd + k] = acc[k, q]
        for t in range(n):
            if t != m and (xy[t, 0] - xy[m, 0]) ** 2 + (xy[t, 1] - xy[m, 1]) ** 2 <= radius**2:
                neighbours[m] += 1
    return votes, neighbours


@njit(cache=True, inline="always")
def _push(buf, n, v):
    """Append v to a growable int32 buffer holding n items; returns the (maybe new) buffer."""
    if n == buf.size:
        nb = np.empty(2 * buf.size, np.int32)
        nb[:n] = buf[:n]
        buf = nb
    buf[n] = v
    return buf


@njit(cache=True, nogil=True)
def lsh_search(pkeys, seg_keys, seg_tab, seg_starts, seg_owners, alive, power):
    """(owners, Σ_a (c_a / L)^power) of every live owner colliding with probe cylinder hashes.

    pkeys (m, L) uint32; each segment holds, per table t, sorted unique keys in
    keys[tab[t]:tab[t+1]] and bucket k's owners in owners[starts[k]:starts[k+1]]. c_a counts the
    tables in which probe cylinder a shares a bucket with at least one cylinder of the owner.
    """
    m, L = pkeys.shape
    n = alive.size
    cnt = np.zeros(n, np.int32)
    stamp = np.full(n, -1, np.int64)
    score = np.zeros(n)
    seen = np.zeros(n, np.uint8)
    now = np.empty(256, np.int32)
    every = np.empty(1024, np.int32)
    n_every = 0
    for a in range(m):
        n_now = 0
        for t in range(L):
            key = pkeys[a, t]
            if key == 0:
                continue  # empty cells only: never stored
            tag = a * L + t
            for s in range(len(seg_keys)):
                keys, tab = seg_keys[s], seg_tab[s]
                lo, hi = tab[t], tab[t + 1]
                end = hi
                while lo < hi:
                    mid = (lo + hi) // 2
                    if keys[mid] < key:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo < end and keys[lo] == key:
                    starts, owners = seg_starts[s], seg_owners[s]
                    for p in range(starts[lo], starts[lo + 1]):
                        o = owners[p]
                        if alive[o] and stamp[o] != tag:
                            stamp[o] = tag
                            if cnt[o] == 0:
                                now = _push(now, n_now, o)
                                n_now += 1
                            cnt[o] += 1
        for i in range(n_now):
            o = now[i]
            score[o] += (cnt[o] / L) ** power
            cnt[o] = 0
            if not seen[o]:
                seen[o] = 1
                every = _push(every, n_every, o)
                n_every += 1
    out = every[:n_every].copy()
    vals = np.empty(n_every)
    for i in range(n_every):
        vals[i] = score[out[i]]
    return out, vals


@njit(cache=True, nogil=True)
def lsh_search_pairs(pkeys, ptab, n_tables, seg_keys, seg_tab, seg_starts, seg_values, alive, power, shift,
                     min_hits):
    """Like lsh_search, but postings are (owner << shift | minutia) and c_a is the largest number of
    tables in which probe cylinder a collides with ONE cylinder of the owner (max over its minutiae).
    Column c of pkeys (m, P) is looked up in table ptab[c] (several probes per table: multi-probe);
    a gallery cylinder has one key per table, so it collides at most once per table.
    """
    m, P = pkeys.shape
    L = n_tables  # c_a below min_hits (chance collisions) adds nothing
    n = alive.size
    best = np.zeros(n, np.int32)
    score = np.zeros(n)
    seen = np.zeros(n, np.uint8)
    every = np.empty(1024, np.int32)
    n_every = 0
    buf = np.empty(4096, np.int32)
    owners_now = np.empty(256, np.int32)
    for a in range(m):
        nb = 0
        for col in range(P):
            key = pkeys[a, col]
            t = ptab[col]
            if key == 0:
                continue
            for s in range(len(seg_keys)):
                keys, tab = seg_keys[s], seg_tab[s]
                lo, hi = tab[t], tab[t + 1]
                end = hi
                while lo < hi:
                    mid = (lo + hi) // 2
                    if keys[mid] < key:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo < end and keys[lo] == key:
                    starts, values = seg_starts[s], seg_values[s]
                    for p in range(starts[lo], starts[lo + 1]):
                        v = values[p]
                        if alive[v >> shift]:
                            buf = _push(buf, nb, v)
                            nb += 1
        if nb == 0:
            continue
        vals = np.sort(buf[:nb])
        n_now = 0
        i = 0
        while i < nb:
            j = i
            while j < nb and vals[j] == vals[i]:
                j += 1
            o = vals[i] >> shift
            c = j - i
            if best[o] == 0:
                owners_now = _push(owners_now, n_now, o)
                n_now += 1
            if c > best[o]:
                best[o] = c
            i = j
        for k in range(n_now):
            o = owners_now[k]
            if best[o] >= min_hits:
                score[o] += (best[o] / L) ** power
            best[o] = 0
            if not seen[o]:
                seen[o] = 1
                every = _push(every, n_every, o)
                n_every += 1
    out = every[:n_every].copy()
    res = np.empty(n_every)
    for i in range(n_every):
        res[i] = score[out[i]]
    return out, res
