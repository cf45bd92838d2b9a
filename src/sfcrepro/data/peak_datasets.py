"""Peak datasets: real genome regions labelled by peak files, with GC-matched background negatives.

A dataset of ``type: peaks`` has one peak file per task (cell type or condition), BED (3+
columns) or narrowPeak. :func:`peak_dataset_regions` turns them into the regions table that
:func:`sfcrepro.data.genome_datasets.build_regions` cuts from the genome:

1. **Peaks.** Each task's file is read with :func:`sfcrepro.data.regions.read_used_peaks` (names absent
   from the genome are bad lines, with a hint when only the ``chr`` prefix differs; peaks on
   chromosomes outside the ``chromosomes`` pattern are dropped). A file whose first data line has
   exactly 10 columns is narrowPeak: its peaks are centred on their summit (column 10; ``-1`` means
   the midpoint), and a peak listed once per summit (MACS2) is used once, at its strongest summit
   (:func:`sfcrepro.data.regions.one_summit_per_peak`). Any other file (BED3-9, BED12) is centred on the
   peak midpoint ``(start + end) // 2``.
2. **Blacklist** (optional BED): peaks overlapping a blacklist interval are dropped (counted per
   task in the log).
3. **Positive regions**, by ``windows["recipe"]``:

   * ``peaks`` (the default): one ``length`` bp region centred on each peak of every task
     (:func:`sfcrepro.data.regions.centred_regions`). A region is labelled 1 for task ``t`` when its
     centre lies in a peak of ``t``, ends included (``start <= centre <= end``), so that every
     peak is positive for its own task (a summit may sit on the peak's end) and a peak of one task
     whose centre falls in another task's peak is positive for both. Identical regions are kept
     once with their labels OR-ed.
   * ``tiles``: :func:`sfcrepro.data.regions.label_windows` (merge, pad, tile, label, expand) on the
     peaks, with ``pad``, ``window``, ``stride``, ``min_overlap`` and ``length`` from ``windows``.

   Regions overlapping the blacklist, leaving their chromosome, or with more than
   ``max_n_fraction`` N in the genome are dropped (so :func:`build_regions` drops none).
   "Positives" below means all these regions (for ``tiles``, windows labelled 0 for every task
   included).
4. **Background negatives** (``background`` = 1, every task label 0), per split (``valid`` and
   ``test`` from ``splits``, :func:`sfcrepro.data.genome_datasets.split_of`; the other used
   chromosomes train). Each chromosome is tiled with disjoint ``length`` bp candidate slots from a
   random offset (seeded by ``seed`` and the chromosome name); a slot is a candidate when it
   overlaps no peak of any task (their full extent, blacklisted peaks included), no blacklist
   interval, no positive region, and has at most ``max_n_fraction`` N. Candidates and positives
   are binned by GC fraction (``(G + C) / length``, ``gc_bins`` equal bins on [0, 1]); in each bin,
   ``ratio`` x the split's positives in that bin (rounded so that the split's total is
   ``ratio x positives`` rounded half up) candidates are drawn at random
   (:func:`sfcrepro.data.negatives.gc_matched_background`). A bin
   without enough candidates gives what it has and the split's shortfall is logged as a warning.
   Since the candidates are disjoint, negatives never overlap each other.

The genome is read one chromosome at a time (``pyfaidx`` and :func:`sfcrepro.data.sequences.encode`,
as :func:`build_regions` does); G+C and N counts of positives and slots come from one pass of
cumulative sums over blocks of :data:`sfcrepro.data.negatives.BLOCK` bases
(:func:`sfcrepro.data.negatives.count_gc_and_n`), so memory stays at one
chromosome's sequence plus a few blocks, and the result does not depend on the block size. All
candidate slots are kept (20 bytes each: about 60 MB for 3 Gbp at 1000 bp), so every bin is filled
as far as the genome allows. On the hg19-sized benchmark genome with 150,000 peaks this takes
30 s and 1.1 GB (``benchmarks/peaks_dataset.py``, ``docs/benchmarks.md``).
"""

from __future__ import annotations

import logging
import time
import zlib

import numpy as np
import pandas as pd

from sfcrepro.data.dataset_types import PEAK_TABLE_COLUMNS
from sfcrepro.data.genome_datasets import split_of
from sfcrepro.data.io import open_text
from sfcrepro.data.negatives import count_gc_and_n, gc_matched_background
from sfcrepro.data.regions import (
    PeakError,
    centred_regions,
    chrom_hint,
    chromosome_filter,
    label_windows,
    read_chrom_sizes,
    read_summit_peaks,
    read_used_peaks,
    sort_regions,
)
from sfcrepro.data.sequences import encode

__all__ = [
    "RECIPES",
    "merge_intervals",
    "overlaps",
    "peak_dataset_regions",
    "read_blacklist",
    "read_task_peaks",
]

log = logging.getLogger("sfcrepro.data.peak_datasets")

RECIPES = ("peaks", "tiles")
SPLITS = ("train", "valid", "test")
_TILING = ("pad", "window", "stride", "min_overlap")
_NEGATIVE_KEYS = ("ratio", "gc_bins")


# --- Interval and sequence helpers ---------------------------------------------------------------


def merge_intervals(starts, ends) -> tuple[np.ndarray, np.ndarray]:
    """Half-open intervals ``[start, end)`` of one chromosome merged into sorted disjoint ones.

    Overlapping and touching intervals merge; empty ones (``end <= start``) are ignored.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    first = np.ones(len(starts), dtype=bool)
    first[1:] = starts[1:] > reach[:-1]
    heads = np.flatnonzero(first)
    return starts[heads], np.maximum.reduceat(ends, heads)


def overlaps(starts, ends, interval_starts, interval_ends) -> np.ndarray:
    """Whether each ``[start, end)`` overlaps any ``[interval_start, interval_end)`` (one chromosome).

    Half-open intervals: ``[0, 10)`` and ``[10, 20)`` do not overlap.

    Returns
    -------
    ndarray of bool
        One value per query interval.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    merged_starts, merged_ends = merge_intervals(interval_starts, interval_ends)
    if not len(merged_starts) or not len(starts):
        return np.zeros(len(starts), dtype=bool)
    # The last merged interval starting before the query's end is the only one that can reach it.
    last = np.searchsorted(merged_starts, ends, side="left") - 1
    return (last >= 0) & (merged_ends[np.maximum(last, 0)] > starts) & (ends > starts)


# --- Reading ----------------------------------------------------------------------------------


def _is_narrowpeak(path) -> bool:
    """Whether the first data line of a peak file has exactly 10 tab-separated columns."""
    with open_text(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            return len(line.rstrip("\n").split("\t")) == 10
    return False


def read_task_peaks(
    path, sizes: dict[str, int], chromosomes: str | None = None, policy: str = "fail", label=None
) -> pd.DataFrame:
    """One task's peaks: ``chrom, start, end, centre`` (summit for narrowPeak, else midpoint).

    A file whose first data line has exactly 10 columns is read as narrowPeak (every line then
    needs column 10; a peak listed once per summit is kept once, at its strongest summit); any
    other as BED. Peaks on chromosomes outside ``chromosomes`` are dropped (and counted).
    """
    label = label or str(path)
    if _is_narrowpeak(path):
        kept = read_summit_peaks(path, sizes, chromosomes, policy, label=label)
        centre = kept["summit"].to_numpy(np.int64) if len(kept) else np.zeros(0, np.int64)
        kept = kept[["chrom", "start", "end"]].assign(centre=centre)
    else:
        kept = read_used_peaks(path, sizes, chromosomes, policy, label=label)
        kept = kept.assign(centre=(kept["start"] + kept["end"]) // 2)
    return kept.astype({"start": np.int64, "end": np.int64, "centre": np.int64}).reset_index(
        drop=True
    )


def _other_naming(chrom: str) -> str:
    """The UCSC name of an Ensembl chromosome name, and the reverse (``1`` <-> ``chr1``)."""
    return chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"


def read_blacklist(path, sizes: dict[str, int], policy: str = "fail") -> pd.DataFrame:
    """Blacklist intervals (BED, 3+ columns): ``chrom, start, end``, ends clipped to the chromosome.

    Intervals on names absent from the genome are ignored and counted (blacklists often list
    contigs that a genome FASTA leaves out, and a genome of a few chromosomes may have no
    blacklisted interval), unless no interval is on the genome and some names would be with the
    other naming (``1`` for ``chr1``): then the names do not match (a :class:`PeakError` with the
    ``chr`` hint). Lines that are not BED follow ``policy``.
    """
    rows, absent, skipped = [], {}, 0
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.split()
            try:
                chrom, start, end = fields[0], int(fields[1]), int(fields[2])
                if start < 0 or end <= start:
                    raise ValueError
            except (IndexError, ValueError):
                message = (
                    f"{path}, line {number}: expected 'chrom start end' with 0 <= start < end, "
                    f"got {line.rstrip()!r}."
                )
                if policy == "fail":
                    raise PeakError(
                        message + " Fix the blacklist, or set peak_errors: skip to drop such lines."
                    ) from None
                skipped += 1
                continue
            if chrom not in sizes:
                absent[chrom] = absent.get(chrom, 0) + 1
                continue
            rows.append((chrom, start, min(end, sizes[chrom])))
    if skipped:
        log.warning("%s: skipped %d bad blacklist lines", path, skipped)
    renamed = [c for c in absent if _other_naming(c) in sizes]
    if renamed and not rows:
        raise PeakError(
            f"{path}: no blacklist interval is on a chromosome of the genome (the first name: "
            f"{renamed[0]!r}).{chrom_hint(renamed[0], sizes)}"
        )
    if absent:
        log.info(
            "%s: ignored %d blacklist intervals on names absent from the genome (%s)",
            path,
            sum(absent.values()),
            ", ".join(sorted(absent)[:5]) + (", ..." if len(absent) > 5 else ""),
        )
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    return frame.astype({"start": np.int64, "end": np.int64})


def _by_chrom(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``chrom -> (starts, ends)`` arrays of a ``chrom, start, end`` frame."""
    if frame.empty:
        return {}
    return {
        str(chrom): (rows["start"].to_numpy(np.int64), rows["end"].to_numpy(np.int64))
        for chrom, rows in frame.groupby("chrom", sort=False)
    }


def _overlaps_frame(frame: pd.DataFrame, intervals: dict) -> np.ndarray:
    """Whether each row of ``frame`` overlaps an interval of ``intervals`` (``_by_chrom``)."""
    hit = np.zeros(len(frame), dtype=bool)
    if not intervals or frame.empty:
        return hit
    starts, ends = frame["start"].to_numpy(np.int64), frame["end"].to_numpy(np.int64)
    for chrom, where in frame.groupby("chrom", sort=False).indices.items():
        if chrom in intervals:
            hit[where] = overlaps(starts[where], ends[where], *intervals[chrom])
    return hit


# --- Positives -----------------------------------------------------------------------------------


def _peak_regions(
    peaks: dict[str, pd.DataFrame],
    sizes: dict[str, int],
    length: int,
    labels_from: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The ``peaks`` recipe: a region centred on each peak of ``peaks``, labelled by whose peaks
    of ``labels_from`` (default ``peaks``; the workflow passes every peak, blacklisted ones
    included) hold its centre."""
    labels_from = peaks if labels_from is None else labels_from

    tasks = list(peaks)
    every = pd.concat([p[["chrom", "centre"]] for p in peaks.values()], ignore_index=True)
    regions = centred_regions(every["chrom"].astype(str).to_numpy(), every["centre"], length, sizes)
    before = len(regions)
    regions = sort_regions(regions.drop_duplicates(["chrom", "start"]), sizes)
    if len(regions) < before:
        log.info(
            "%d peaks give the same %d bp region as another peak: kept once, labels OR-ed",
            before - len(regions),
            length,
        )
    centre = regions["start"].to_numpy(np.int64) + length // 2
    points = pd.DataFrame({"chrom": regions["chrom"], "start": centre, "end": centre + 1})
    for task in tasks:
        closed = {c: (s, e + 1) for c, (s, e) in _by_chrom(labels_from[task]).items()}
        regions[task] = _overlaps_frame(points, closed).astype(np.uint8)
    return regions


def _check_splits(regions: pd.DataFrame, splits: dict, sizes: dict[str, int], stage: str) -> None:
    present = set(regions["chrom"].unique())
    for split in SPLITS:
        chroms = [c for c in sizes if split_of(c, splits) == split]
        if not any(c in present for c in chroms):
            listed = ", ".join(splits.get(split, [])) if split != "train" else "all others"
            used = ", ".join(chroms[:10]) + (", ..." if len(chroms) > 10 else "") or "none"
            raise ValueError(
                f"Split {split!r} has no positive regions {stage}: its chromosomes ({listed}; "
                f"used: {used}) have none. Change `splits` in the config so that the valid, test "
                "and train chromosomes all have peaks."
            )


# --- The dataset -------------------------------------------------------------------------------


def peak_dataset_regions(
    peak_files: dict[str, str],
    fasta: str,
    fai: str,
    chromosomes: str | None,
    windows: dict,
    negatives: dict,
    splits: dict,
    seed: int,
    blacklist: str | None = None,
    max_n_fraction: float = 0.1,
    policy: str = "fail",
) -> pd.DataFrame:
    """Labelled regions of a ``peaks`` dataset, with GC-matched background negatives.

    See the module docstring for the rules.

    Parameters
    ----------
    peak_files : dict of str to path
        Each task's peak file (BED 3+ columns or narrowPeak, plain or gzipped), in task order.
    fasta, fai : path
        The genome FASTA (read with ``pyfaidx``) and its ``.fai`` index (chromosome sizes and order).
    chromosomes : str or None
        Regular expression of the chromosomes to use (fully matched; None: all).
    windows : dict
        ``recipe`` (``peaks``, the default, or ``tiles``), ``length`` (default 1000) and for
        ``tiles`` the :func:`sfcrepro.data.regions.label_windows` options ``pad``, ``window``,
        ``stride``, ``min_overlap``.
    negatives : dict
        ``ratio`` (default 1.0; 0 for no negatives) and ``gc_bins`` (default 20).
    splits : dict
        Chromosomes of ``valid`` and ``test``; the other used chromosomes are train.
    seed : int
        Seed of the candidate slots and draws (same inputs and seed: same table).
    blacklist : path, optional
        BED of regions to avoid.
    max_n_fraction : float
        Regions (positive or negative) with a larger fraction of N are dropped / not drawn.
    policy : {"fail", "skip"}
        What a bad peak (or blacklist) line does (:func:`sfcrepro.data.regions.read_peaks`).

    Returns
    -------
    DataFrame
        ``chrom, start, end``, one uint8 label column per task, ``background`` (uint8, 1 for the
        negatives), sorted by chromosome (in ``.fai`` order) and start; all regions ``length`` bp.

    Raises
    ------
    ValueError
        An unknown recipe or ``negatives`` option, or a split without positives.
    sfcrepro.data.regions.PeakError
        A bad peak line, names that do not match the genome, or a task without peaks left.
    """
    windows = dict(windows or {})
    recipe = windows.pop("recipe", "peaks")
    length = int(windows.pop("length", 1000))
    if recipe not in RECIPES:
        raise ValueError(f"unknown region recipe {recipe!r}; choose one of {', '.join(RECIPES)}.")
    unknown = set(windows) - set(_TILING)
    if unknown:
        raise ValueError(
            f"unknown windows options {', '.join(sorted(unknown))}; "
            f"allowed: recipe, length, {', '.join(_TILING)}."
        )
    if recipe == "peaks" and windows:
        log.info("recipe peaks: ignoring the tiling options %s", ", ".join(sorted(windows)))
    negatives = dict(negatives or {})
    unknown = set(negatives) - set(_NEGATIVE_KEYS)
    if unknown:
        raise ValueError(
            f"unknown negatives options {', '.join(sorted(unknown))}; allowed: ratio, gc_bins."
        )
    ratio = float(negatives.get("ratio", 1.0))
    bins = int(negatives.get("gc_bins", 20))
    if ratio < 0 or bins < 1:
        raise ValueError(f"negatives need ratio >= 0 and gc_bins >= 1, got {ratio} and {bins}.")
    splits = splits or {}

    sizes = read_chrom_sizes(fai)
    keep = chromosome_filter(chromosomes)
    used = {c: n for c, n in sizes.items() if keep(c)}
    black = _by_chrom(read_blacklist(blacklist, sizes, policy) if blacklist else pd.DataFrame())

    reserved = sorted(set(peak_files) & set(PEAK_TABLE_COLUMNS))
    if reserved:
        raise ValueError(
            f"Task names {', '.join(reserved)} are columns of the regions table "
            f"({', '.join(PEAK_TABLE_COLUMNS)}); rename the task."
        )
    peaks, extents, every = {}, [], {}
    for task, path in peak_files.items():
        label = f"{path} (task {task})"
        frame = read_task_peaks(path, sizes, chromosomes, policy, label=label)
        extents.append(frame[["chrom", "start", "end"]])
        every[task] = frame
        bad = _overlaps_frame(frame, black)
        if bad.any():
            log.info(
                "%s: dropped %d of %d peaks overlapping the blacklist", label, bad.sum(), len(frame)
            )
        frame = frame[~bad].reset_index(drop=True)
        if frame.empty:
            raise PeakError(
                f"{label}: no peaks left on chromosomes matching {chromosomes!r}"
                + (f" outside the blacklist {blacklist}" if blacklist else "")
                + ". Check that the file is for this genome build, and the dataset's chromosomes "
                "pattern" + (" and blacklist." if blacklist else ".")
            )
        log.info("%s: %d peaks", task, len(frame))
        peaks[task] = frame
    tasks = list(peaks)
    peak_extent = _by_chrom(pd.concat(extents, ignore_index=True))

    # Regions come from the peaks outside the blacklist; labels count every peak of a task (a
    # region whose centre lies in a blacklisted peak of another task is still positive for it),
    # and regions overlapping the blacklist are dropped below.
    if recipe == "peaks":
        regions = _peak_regions(peaks, used, length, labels_from=every)
    else:
        regions = label_windows(
            {t: p[["chrom", "start", "end"]] for t, p in every.items()},
            used,
            length=length,
            **windows,
        )
    regions = regions[["chrom", "start", "end", *tasks]]
    in_black = _overlaps_frame(regions, black)
    if in_black.any():
        log.info("dropped %d of %d regions overlapping the blacklist", in_black.sum(), len(regions))
        regions = regions[~in_black]
    regions = regions.reset_index(drop=True)
    _check_splits(regions, splits, used, "after the blacklist and chromosome filters")

    positives, candidates = _stream_genome(
        regions, fasta, used, length, peak_extent, black, seed, max_n_fraction, ratio > 0
    )
    _check_splits(positives, splits, used, f"after dropping those over {max_n_fraction:g} N")

    chrom_names = np.array(list(used), dtype=object)
    split_of_chrom = np.array([split_of(c, splits) for c in chrom_names], dtype=object)
    pos_split = positives["chrom"].map(dict(zip(chrom_names, split_of_chrom, strict=True)))
    chosen = gc_matched_background(
        positives["gc"].to_numpy(),
        pos_split.to_numpy(),
        candidates,
        split_of_chrom[candidates["chrom"]],
        ratio,
        bins,
        seed,
        length,
    )

    table = positives.drop(columns="gc").assign(background=np.uint8(0))
    for task in tasks:
        table[task] = table[task].astype(np.uint8)
    if chosen:
        starts = np.concatenate([c["start"] for c in chosen])
        background = pd.DataFrame(
            {
                "chrom": chrom_names[np.concatenate([c["chrom"] for c in chosen])],
                "start": starts,
                "end": starts + length,
                **{task: np.zeros(len(starts), dtype=np.uint8) for task in tasks},
                "background": np.ones(len(starts), dtype=np.uint8),
            }
        )
        table = pd.concat([table, background], ignore_index=True)
    table = table.astype({"chrom": str, "start": np.int64, "end": np.int64})
    return sort_regions(table, sizes)


def _stream_genome(
    regions: pd.DataFrame,
    fasta,
    sizes: dict[str, int],
    length: int,
    peak_extent: dict,
    black: dict,
    seed: int,
    max_n_fraction: float,
    want_candidates: bool,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One pass over the used chromosomes: GC of the positives (N-rich ones dropped) and of every
    background candidate slot.

    Returns the positives with a ``gc`` column (G + C count), and the candidates as arrays
    ``chrom`` (index into ``sizes``), ``start``, ``gc``.
    """
    import pyfaidx

    genome = pyfaidx.Fasta(str(fasta))
    kept_rows, gc_of_rows = [], []
    candidates = {"chrom": [], "start": [], "gc": []}
    by_chrom = regions.groupby("chrom", sort=False).indices
    started, dropped_n, slots_total = time.monotonic(), 0, 0
    for index, (chrom, size) in enumerate(sizes.items()):
        rows = by_chrom.get(chrom, np.zeros(0, dtype=np.int64))
        if not len(rows) and not want_candidates:
            continue
        if size < length:
            continue
        codes = encode(str(genome[chrom][:]))
        if len(codes) != size:
            raise ValueError(
                f"{chrom} has {len(codes)} bp in {fasta} but {size} in the index; rebuild the .fai."
            )
        starts = regions["start"].to_numpy(np.int64)[rows]
        slot = np.zeros(0, dtype=np.int64)
        if want_candidates:
            offset = int(
                np.random.default_rng([seed, zlib.crc32(chrom.encode())]).integers(0, length)
            )
            slot = offset + length * np.arange((size - offset) // length, dtype=np.int64)
            ends = slot + length
            free = ~overlaps(slot, ends, starts, starts + length)
            for intervals in (peak_extent, black):
                if chrom in intervals:
                    free &= ~overlaps(slot, ends, *intervals[chrom])
            slot = slot[free]
        gc, n_count = count_gc_and_n(codes, np.concatenate([starts, slot]), length)
        n_rich = n_count / length > max_n_fraction  # build_regions' rule
        ok = ~n_rich[: len(starts)]
        dropped_n += int((~ok).sum())
        kept_rows.append(rows[ok])
        gc_of_rows.append(gc[: len(starts)][ok])
        usable = ~n_rich[len(starts) :]
        candidates["chrom"].append(np.full(int(usable.sum()), index, dtype=np.int32))
        candidates["start"].append(slot[usable])
        candidates["gc"].append(gc[len(starts) :][usable])
        n_slots = int(usable.sum())
        slots_total += n_slots
        del codes
        log.info(
            "%s: %d positive regions (%d over %g N), %d background candidates (%.0f s)",
            chrom,
            int(ok.sum()),
            int((~ok).sum()),
            max_n_fraction,
            n_slots,
            time.monotonic() - started,
        )
    if dropped_n:
        log.info("dropped %d positive regions with more than %g N", dropped_n, max_n_fraction)
    rows = np.concatenate(kept_rows) if kept_rows else np.zeros(0, dtype=np.int64)
    positives = regions.iloc[rows].reset_index(drop=True)
    positives["gc"] = np.concatenate(gc_of_rows) if gc_of_rows else np.zeros(0, dtype=np.int64)
    merged = {
        name: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        for name, parts in candidates.items()
    }
    log.info("%d background candidate slots of %d bp", slots_total, length)
    return positives, merged
