"""Negatives: how the examples labelled 0 are chosen, one rule per kind of dataset, in one place.

Every dataset the pipeline builds has negatives; each kind has its own rule, and this module holds
them (the builders call these functions), so that changing how negatives are drawn is a change here:

``peaks`` datasets (your own peak files): GC-matched genome background
    :func:`gc_matched_background`. Per split, genome slots that overlap no peak, blacklist
    interval or positive region (the candidates, found by
    :func:`sfcrepro.data.peak_datasets.peak_dataset_regions` in one pass over the genome, GC and N
    counted by :func:`count_gc_and_n`) are drawn so that their GC histogram is ``ratio`` x the
    positives' (:func:`gc_bins_of`, :func:`gc_matched_sample`).
In vivo TF binding (``invivo_tf``): DNase peaks free of the TF
    :func:`free_of`: the DNase peaks that overlap none of the top relaxed ChIP-seq peaks
    (Shrikumar et al. 2017b), centred on their summits by :func:`sfcrepro.data.invivo.tf_examples`.
Accessibility tiles (``simulated_access``, the ``tiles`` recipe of ``peaks``): window labels
    :func:`covered_labels`: a window is a negative for a task when less than ``min_overlap`` of
    it is covered by that task's peaks (:func:`sfcrepro.data.regions.label_windows`); a window can be
    negative for every task.
Simulated TF binding (``simulated_tf``): background sequences
    the ``neither`` class of :func:`sfcrepro.data.simulate.simulate_tf_binding`: random background of
    the configured GC content with no motif inserted (a quarter of the sequences). The
    simulation draws its four classes together, so this rule stays in ``simulate.py``.

The in vivo accessibility datasets (``invivo_access``) have no separate negatives: a region is
negative for a cell type that has no call there (:func:`sfcrepro.data.invivo.windows_from_calls`).
Tests: ``tests/test_negatives.py``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pybedtools

from sfcrepro.data.bedtools import from_bedtool, temporary_folder, to_bedtool
from sfcrepro.data.sequences import N_CODE

__all__ = [
    "BLOCK",
    "GC_CODES",
    "count_bases",
    "count_gc_and_n",
    "covered_labels",
    "free_of",
    "gc_bins_of",
    "gc_fraction",
    "gc_matched_background",
    "gc_matched_sample",
]

log = logging.getLogger("sfcrepro.data.negatives")

GC_CODES = (1, 2)  # C and G in sfcrepro.data.sequences codes
BLOCK = 1 << 22  # bases per cumulative-sum block of count_bases (4 Mbp: 16 MB per uint32 array)
SPLITS = ("train", "valid", "test")


# --- GC-matched genome background (peaks datasets) -----------------------------------------------


def gc_fraction(codes) -> np.ndarray | float:
    """GC fraction ``(G + C) / length`` of codes ``(L,)`` or of each row of ``(n, L)``.

    N counts in the length (a sequence of half N and half G has GC fraction 0.5).
    """
    codes = np.asarray(codes)
    gc = np.isin(codes, GC_CODES).sum(axis=-1) / codes.shape[-1]
    return float(gc) if codes.ndim == 1 else gc


def _window_sums(table: np.ndarray, codes: np.ndarray, starts, length: int, block: int):
    """``table[codes]`` summed over ``[start, start + length)`` for each start (uint32, modulo 2**32).

    Cumulative sums over blocks of ``block`` bases (plus ``length``), in uint32: they wrap around,
    but a difference of two is exact while the true window sum is below 2**32.
    """
    starts = np.asarray(starts, dtype=np.int64)
    sums = np.zeros(len(starts), dtype=np.uint32)
    if not len(starts):
        return sums
    if starts.min() < 0 or starts.max() + length > len(codes):
        raise ValueError(f"regions of {length} bp must lie inside the sequence ({len(codes)} bp)")
    order = np.argsort(starts, kind="stable")
    ordered = starts[order]
    cumulative = np.zeros(min(block, len(codes)) + length + 1, dtype=np.uint32)
    for first in range(int(ordered[0]) // block * block, int(ordered[-1]) + 1, block):
        lo, hi = np.searchsorted(ordered, [first, first + block])
        if lo == hi:
            continue
        segment = table[codes[first : first + block + length]]
        np.cumsum(segment, dtype=np.uint32, out=cumulative[1 : len(segment) + 1])
        offset = ordered[lo:hi] - first
        sums[order[lo:hi]] = cumulative[offset + length] - cumulative[offset]
    return sums


def count_bases(codes: np.ndarray, starts, length: int, bases=GC_CODES, block: int = BLOCK):
    """How many of ``codes[start:start + length]`` are in ``bases``, for each start.

    Parameters
    ----------
    codes : ndarray of uint8
        One chromosome's codes (:func:`sfcrepro.data.sequences.encode`).
    starts : array-like of int
        Region starts, in any order; every region must lie inside ``codes``.
    length : int
        Region length.
    bases : tuple of int
        The codes counted (default: C and G).
    block : int
        Bases per cumulative sum; bounds the memory (about 8 bytes per base of a block), not the
        result.

    Returns
    -------
    ndarray of int64
    """
    table = np.zeros(256, dtype=np.uint32)
    table[list(bases)] = 1
    return _window_sums(table, codes, starts, length, block).astype(np.int64)


def count_gc_and_n(
    codes: np.ndarray, starts, length: int, block: int = BLOCK
) -> tuple[np.ndarray, np.ndarray]:
    """G + C and N counts of ``codes[start:start + length]`` for each start, in one pass.

    The same as two :func:`count_bases` calls (``GC_CODES`` and ``(N_CODE,)``), about three times
    faster: both counts are packed in one uint32 (N in the high 16 bits), so ``length`` must be
    below 65,536.
    """
    if length >= 1 << 16:
        raise ValueError(f"count_gc_and_n needs regions below 65,536 bp, got {length}")
    table = np.zeros(256, dtype=np.uint32)
    table[list(GC_CODES)] = 1
    table[N_CODE] = 1 << 16
    sums = _window_sums(table, codes, starts, length, block)
    return (sums & 0xFFFF).astype(np.int64), (sums >> 16).astype(np.int64)


def gc_bins_of(gc_counts, length: int, bins: int) -> np.ndarray:
    """GC bin (0 to ``bins - 1``) of regions with ``gc_counts`` G or C of ``length`` bases.

    ``bins`` equal bins on [0, 1]; a fraction on a bin edge goes to the upper bin, 1.0 to the last.
    Integer arithmetic, so that positives and candidates of the same count share a bin.
    """
    gc_counts = np.asarray(gc_counts, dtype=np.int64)
    return np.minimum(gc_counts * bins // length, bins - 1).astype(np.int64)


def _apportion(wanted: np.ndarray) -> np.ndarray:
    """Whole numbers per bin near ``wanted`` (floats) summing to ``wanted.sum()`` rounded half up.

    Largest remainders first (ties: the lower bin); with whole ``wanted`` it returns them as is.
    """
    base = np.floor(wanted + 1e-9).astype(np.int64)
    total = int(np.floor(wanted.sum() + 0.5))
    extra = total - int(base.sum())
    if extra > 0:
        remainder = wanted - base
        base[np.argsort(-remainder, kind="stable")[:extra]] += 1
    return base


def gc_matched_sample(
    target_bins, candidate_bins, ratio: float, bins: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates drawn at random so that their GC-bin histogram is ``ratio`` x the targets'.

    Parameters
    ----------
    target_bins, candidate_bins : array-like of int
        GC bin (:func:`gc_bins_of`) of each target (positive) and candidate.
    ratio : float
        Candidates wanted per target, per bin; the quotas are ``ratio`` x the targets per bin,
        rounded so that they sum to ``ratio x targets`` rounded half up.
    bins : int
        Number of GC bins.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    (chosen, quota, available)
        Indices of the chosen candidates (sorted), and per bin the quota and the number of
        candidates there. A bin with fewer candidates than its quota gives all it has.
    """
    target_counts = np.bincount(np.asarray(target_bins, dtype=np.int64), minlength=bins)[:bins]
    candidate_bins = np.asarray(candidate_bins, dtype=np.int64)
    quota = _apportion(ratio * target_counts.astype(float))
    available = np.bincount(candidate_bins, minlength=bins)[:bins]
    by_bin = np.argsort(candidate_bins, kind="stable")
    edges = np.concatenate([[0], np.cumsum(available)])
    chosen = []
    for b in np.flatnonzero(quota):
        pool = by_bin[edges[b] : edges[b + 1]]
        take = min(int(quota[b]), len(pool))
        if take:
            chosen.append(pool[rng.choice(len(pool), size=take, replace=False)])
    chosen = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    return chosen, quota, available


def gc_matched_background(
    positive_gc,
    positive_split,
    candidates: dict[str, np.ndarray],
    candidate_split,
    ratio: float,
    bins: int,
    seed: int,
    length: int,
) -> list[dict[str, np.ndarray]]:
    """Background negatives drawn per split so that their GC histogram is ``ratio`` x the
    positives' (:func:`gc_matched_sample`; the draws of split ``k`` of train, valid, test are
    seeded by ``[seed, k]``). A split's shortfall (GC bins with too few candidates) is logged as
    a warning, and each split's counts and mean GC at info level.

    Parameters
    ----------
    positive_gc, positive_split : array-like
        G + C count and split name of each positive region.
    candidates : dict of str to ndarray
        Columns of the candidate slots, among them ``gc`` (their G + C counts).
    candidate_split : array-like of str
        Split of each candidate.
    ratio : float
        Negatives per positive (0: none).
    bins : int
        GC bins on [0, 1].
    seed : int
        Seed of the draws.
    length : int
        Region length (GC counts are of ``length`` bases).

    Returns
    -------
    list of dict
        Per split with negatives (in train, valid, test order), the chosen candidates' columns.
    """
    positive_gc = np.asarray(positive_gc)
    positive_split = np.asarray(positive_split)
    candidate_split = np.asarray(candidate_split)
    chosen = []
    for k, split in enumerate(SPLITS):
        target = positive_gc[positive_split == split]
        in_split = candidate_split == split
        pool = {name: values[in_split] for name, values in candidates.items()}
        if ratio > 0:
            picked, quota, available = gc_matched_sample(
                gc_bins_of(target, length, bins),
                gc_bins_of(pool["gc"], length, bins),
                ratio,
                bins,
                np.random.default_rng([seed, k]),
            )
            short = np.flatnonzero(available < quota)
            if len(short):
                log.warning(
                    "%s: %d GC bins have too few background candidates; drew %d negatives instead "
                    "of %d (bin: short of quota): %s",
                    split,
                    len(short),
                    len(picked),
                    int(quota.sum()),
                    ", ".join(
                        f"{b / bins:.2f}-{(b + 1) / bins:.2f}: {quota[b] - available[b]} of "
                        f"{quota[b]}"
                        for b in short
                    ),
                )
            picked_pool = {name: values[picked] for name, values in pool.items()}
            chosen.append(picked_pool)
            negative_gc = picked_pool["gc"]
        else:
            negative_gc = np.zeros(0)
        log.info(
            "%s: %d positives (mean GC %.3f), %d negatives (mean GC %s)",
            split,
            len(target),
            target.mean() / length if len(target) else float("nan"),
            len(negative_gc),
            f"{negative_gc.mean() / length:.3f}" if len(negative_gc) else "-",
        )
    return chosen


# --- DNase peaks free of the TF (in vivo TF binding) ---------------------------------------------


def free_of(regions: pd.DataFrame, excluded: pd.DataFrame) -> np.ndarray:
    """Rows of ``regions`` that overlap no interval of ``excluded`` (``bedtools intersect -v``).

    Parameters
    ----------
    regions, excluded : DataFrame
        ``chrom, start, end`` (BED coordinates; other columns are ignored).

    Returns
    -------
    ndarray of int64
        Row positions (0-based, in ``regions``' order) of the regions kept.
    """
    rows = regions[["chrom", "start", "end"]].reset_index(drop=True)
    rows = rows.assign(row=np.arange(len(rows)))
    with temporary_folder():
        free = pybedtools.BedTool.from_dataframe(rows).intersect(to_bedtool(excluded), v=True)
        kept = from_bedtool(free, ("chrom", "start", "end", "row"))["row"]
    return kept.astype(np.int64).to_numpy()


# --- Window labels (accessibility tiles) ---------------------------------------------------------


def covered_labels(fraction, min_overlap: float) -> np.ndarray:
    """Labels of windows from the fraction of each covered by a task's peaks: 1 where at least
    ``min_overlap``, else 0 (a negative for that task); uint8."""
    return (np.asarray(fraction) >= min_overlap).astype(np.uint8)
