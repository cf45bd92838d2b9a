"""Compiled kernel of the uniform dinucleotide shuffle (see sfcrepro.data.sequences.dinucleotide_shuffle).

Altschul & Erickson (1985) / Kandel et al. (1996), as in uShuffle (Jiang et al. 2008): the
sequence is an Euler path through the multigraph of its dinucleotides (vertex = symbol, one edge
per adjacent pair). A uniformly random sequence with the same dinucleotide counts is obtained by

1. drawing, for every vertex but the path's last symbol, the edge it leaves by last, so that these
   last edges form a random arborescence rooted at the last symbol. Wilson's algorithm (loop-erased
   random walks that pick an out-edge uniformly among the vertex's edges) draws an arborescence with
   probability proportional to the product of the chosen edges' multiplicities, which is exactly
   proportional to the number of distinct sequences it admits;
2. shuffling each vertex's other out-edges uniformly (Fisher-Yates) and putting its last edge last;
3. walking from the first symbol, always taking the next unused out-edge.

The shortcut that keeps each vertex's *original* last edge (step 1 skipped) is not uniform.

Randomness: one splitmix64 stream per row, seeded by the caller, so that a row's result depends
only on its own seed (not on batch boundaries or thread counts).
"""

from __future__ import annotations

import numba
import numpy as np

ALPHABET_SIZE = 5  # A C G T N

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(0x100000000)


@numba.njit(cache=True, inline="always")
def _next(state):
    """splitmix64: returns (new_state, 64-bit output)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _below(state, n):
    """A uniform integer in [0, n) (1 <= n < 2**32), without modulo bias.

    Lemire's multiply-and-shift method (ACM TOMS 2019): the top 32 bits ``r`` of a splitmix64
    output map to ``(r * n) >> 32``; the few low products below ``2**32 mod n`` are rejected. That
    threshold needs a division, but only when the low product is below ``n`` (probability
    ``n / 2**32``), so the common path has no division. A 64-bit division costs up to 45 cycles on
    AMD Zen 1 and 10-18 on Zen 3 and later: the modulo rejection used before (two divisions per
    draw, about 2,000 per 1000 bp sequence) made the shuffle no faster than uShuffle on Zen 1
    (docs/benchmarks.md).
    """
    n64 = np.uint64(n)
    state, x = _next(state)
    product = (x >> np.uint64(32)) * n64
    low = product & _LOW32
    if low < n64:
        threshold = (_TWO32 - n64) % n64
        while low < threshold:
            state, x = _next(state)
            product = (x >> np.uint64(32)) * n64
            low = product & _LOW32
    return state, np.int64(product >> np.uint64(32))


@numba.njit(cache=True)
def _shuffle_row(row, out, seed, succ, offset, degree, used, last, in_tree):
    length = row.shape[0]
    if length <= 2:
        out[:] = row
        return
    k = ALPHABET_SIZE
    state = np.uint64(seed)
    # Out-edge lists: succ[offset[u] : offset[u] + degree[u]] holds the successors of symbol u.
    degree[:] = 0
    for i in range(length - 1):
        degree[row[i]] += 1
    total = 0
    for u in range(k):
        offset[u] = total
        total += degree[u]
    used[:] = 0
    for i in range(length - 1):
        u = row[i]
        succ[offset[u] + used[u]] = row[i + 1]
        used[u] += 1
    # 1. Random arborescence of last edges rooted at the final symbol (Wilson's algorithm).
    root = row[length - 1]
    in_tree[:] = False
    in_tree[root] = True
    for start in range(k):
        if degree[start] == 0 or in_tree[start]:
            continue
        u = start
        while not in_tree[u]:  # random walk; overwriting last[] erases loops
            state, j = _below(state, degree[u])
            last[u] = offset[u] + j
            u = succ[last[u]]
        u = start
        while not in_tree[u]:
            in_tree[u] = True
            u = succ[last[u]]
    # 2. Move each last edge to the end of its list and shuffle the others.
    for u in range(k):
        d = degree[u]
        if d == 0:
            continue
        end = offset[u] + d - 1
        if u != root:
            tmp = succ[last[u]]
            succ[last[u]] = succ[end]
            succ[end] = tmp
            d -= 1
        for i in range(d - 1, 0, -1):  # Fisher-Yates over the first d entries
            state, j = _below(state, i + 1)
            a = offset[u] + i
            b = offset[u] + j
            tmp = succ[a]
            succ[a] = succ[b]
            succ[b] = tmp
    # 3. Walk the Euler path.
    used[:] = 0
    u = row[0]
    out[0] = u
    for i in range(1, length):
        v = succ[offset[u] + used[u]]
        used[u] += 1
        out[i] = v
        u = v


@numba.njit(cache=True)
def shuffle_rows(tokens, seeds, out):
    """Shuffle each row of ``tokens`` (uint8 codes < 5) into ``out`` with its own seed."""
    k = ALPHABET_SIZE
    length = tokens.shape[1]
    succ = np.empty(max(length - 1, 1), dtype=np.uint8)
    offset = np.empty(k, dtype=np.int64)
    degree = np.empty(k, dtype=np.int64)
    used = np.empty(k, dtype=np.int64)
    last = np.zeros(k, dtype=np.int64)
    in_tree = np.empty(k, dtype=np.bool_)
    for r in range(tokens.shape[0]):
        _shuffle_row(tokens[r], out[r], seeds[r], succ, offset, degree, used, last, in_tree)
