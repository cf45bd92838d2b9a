"""The uniform dinucleotide shuffle (sfcrepro.data.sequences.dinucleotide_shuffle)."""

import collections

import numba
import numpy as np
import pytest
from scipy.stats import chisquare

from sfcrepro.data._shuffle import _below
from sfcrepro.data.sequences import decode, dinucleotide_shuffle, encode


def dinucleotides(row):
    row = np.asarray(row, dtype=np.int64)
    return np.bincount(row[:-1] * 5 + row[1:], minlength=25)


def reachable(sequence):
    """All distinct sequences with the same first base and dinucleotide counts (depth-first search
    over the unused dinucleotides)."""
    edges = collections.Counter(zip(sequence, sequence[1:], strict=False))
    found = set()

    def walk(path):
        if len(path) == len(sequence):
            found.add(path)
            return
        for (a, b), n in list(edges.items()):
            if a == path[-1] and n:
                edges[(a, b)] -= 1
                walk(path + b)
                edges[(a, b)] += 1

    walk(sequence[0])
    return found


def test_keeps_dinucleotide_counts_first_and_last_base_with_n():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, size=(200, 301)).astype(np.uint8)
    out = dinucleotide_shuffle(tokens, rng)
    assert out.shape == tokens.shape and out.dtype == np.uint8
    for a, b in zip(tokens, out, strict=False):
        np.testing.assert_array_equal(dinucleotides(a), dinucleotides(b))
    np.testing.assert_array_equal(out[:, 0], tokens[:, 0])
    np.testing.assert_array_equal(out[:, -1], tokens[:, -1])
    assert (out != tokens).any(axis=1).mean() > 0.99


def test_uniform_over_all_reachable_sequences():
    # 27 sequences share ACCCACGATGATG's first base and dinucleotide counts (reachable() counts
    # them); uShuffle reaches all 27, the deeplift edge-list shortcut only 9 (benchmarks/shuffle.py).
    sequence = "ACCCACGATGATG"
    universe = reachable(sequence)
    assert len(universe) == 27
    draws = 27 * 800
    out = dinucleotide_shuffle(np.tile(encode(sequence), (draws, 1)), np.random.default_rng(1))
    counts = collections.Counter(decode(out))
    assert set(counts) == universe
    assert chisquare([counts[s] for s in sorted(universe)]).pvalue > 0.001


def test_seeds_make_rows_independent_of_batching():
    rng = np.random.default_rng(2)
    tokens = rng.integers(0, 4, size=(10, 100)).astype(np.uint8)
    seeds = np.arange(10) * 7919
    whole = dinucleotide_shuffle(tokens, seeds=seeds)
    parts = np.concatenate(
        [
            dinucleotide_shuffle(tokens[:3], seeds=seeds[:3]),
            dinucleotide_shuffle(tokens[3:], seeds=seeds[3:]),
        ]
    )
    np.testing.assert_array_equal(whole, parts)
    assert not np.array_equal(whole, dinucleotide_shuffle(tokens, seeds=seeds + 1))


@pytest.mark.parametrize("length", [0, 1, 2, 3])
def test_short_rows(length):
    tokens = np.array([[0, 1, 2][:length]] * 4, dtype=np.uint8).reshape(4, length)
    out = dinucleotide_shuffle(tokens, np.random.default_rng(0))
    np.testing.assert_array_equal(out, tokens)  # at most one arrangement exists


def test_single_row_and_bad_input():
    row = encode("ACGTTGCA")
    assert dinucleotide_shuffle(row, np.random.default_rng(0)).shape == (8,)
    with pytest.raises(ValueError, match="codes 0-4"):
        dinucleotide_shuffle(np.array([[0, 7]], dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        dinucleotide_shuffle(np.array([[0, 1]], dtype=np.int64))


@numba.njit
def _draws(n, count, seed):
    state = np.uint64(seed)
    out = np.empty(count, dtype=np.int64)
    for i in range(count):
        state, out[i] = _below(state, n)
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000])
def test_bounded_draws_are_uniform(n):
    draws = _draws(n, 200 * n, 5)
    assert draws.min() >= 0 and draws.max() < n
    counts = np.bincount(draws, minlength=n)
    if n > 1:
        assert chisquare(counts).pvalue > 0.001


def test_bounded_draws_reject_the_biased_products():
    # For n = 3 * 2**30, (r * n) >> 32 = floor(3 r / 4): r = 4k and 4k + 1 both give 3k, so
    # without rejection draws divisible by 3 would come twice as often as the others. The products
    # to reject (low 32 bits below 2**32 mod n = 2**30) are exactly r = 4k.
    n = 3 * 2**30
    draws = _draws(n, 60_000, 11)
    assert draws.max() < n
    assert chisquare(np.bincount(draws % 3, minlength=3)).pvalue > 0.001
