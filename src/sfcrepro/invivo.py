"""Building blocks of the in vivo datasets (paper sections 2.3-2.4; REFERENCE.md 4c and 4d).

TF binding (Shrikumar et al. 2017b): for each TF, positives are ``length`` bp regions centred on
its ChIP-seq summits; negatives are DNase peaks (GM12878, E116) with no overlap with the TF's top
``top`` relaxed ChIP-seq peaks (ranked by signal value), centred on their DNase summits.

Hematopoiesis accessibility (Corces et al. 2016): the GEO counts matrix (``Chr Start End`` then
one column per sample) is turned into a 0/1 call per peak and cell type: counts are normalised to
counts per million (CPM) of each sample's total, and a peak is accessible in a cell type when its
CPM reaches ``min_cpm`` in at least ``min_fraction`` of that cell type's samples. Each cell type's
accessible peaks then go through the same merge, pad, tile, label and expand steps as the
simulated accessibility data (:func:`sfcrepro.regions.label_windows`).

The pipeline wires these in ``workflow/rules/invivo.smk``: :func:`tf_examples_from_files` per TF,
:func:`calls_from_counts` and :func:`windows_from_calls` for hematopoiesis; both datasets then get
their real genome sequence from :func:`sfcrepro.sim_access.build_regions`.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from sfcrepro.download import open_text

__all__ = [
    "accessibility_calls",
    "calls_from_counts",
    "windows_from_calls",
    "centre_on_summits",
    "map_samples",
    "read_counts",
    "tf_examples",
    "tf_examples_from_files",
    "top_by_signal",
]

log = logging.getLogger("sfcrepro.invivo")

# Corces et al. 2016 normal-sample columns are named like Donor4983-1A-... or 6792-7A: the number
# after the dash is the cell-type code and the letter the replicate (REFERENCE.md 4d). The
# leukemic cell types (pHSC, LSC, Blast) are named otherwise and need patterns in the config.
CORCES_CODES = {"HSC": 1, "MPP": 2, "LMPP": 3, "CMP": 4, "GMP": 5, "MEP": 6, "Mono": 7, "CD4": 9,
                "CD8": 10, "NK": 11, "B": 13, "CLP": 14, "Ery": 15}


def corces_pattern(code: int) -> str:
    """Regular expression of the sample columns of one normal cell-type code."""
    return rf"^(Donor)?\d+-{code}[A-Z]\b"


def centre_on_summits(peaks: pd.DataFrame, length: int, chrom_sizes: dict[str, int]) -> pd.DataFrame:
    """``length`` bp regions centred on each peak's ``summit``, dropping those leaving the chromosome."""
    start = peaks["summit"].to_numpy(np.int64) - length // 2
    regions = pd.DataFrame({"chrom": peaks["chrom"].to_numpy(), "start": start, "end": start + length})
    inside = (regions["start"] >= 0) & (regions["end"] <= regions["chrom"].map(chrom_sizes))
    if (~inside).any():
        log.info("dropped %d of %d regions that would leave their chromosome", int((~inside).sum()), len(regions))
    return regions[inside].reset_index(drop=True)


def top_by_signal(peaks: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` peaks with the highest ``signal`` (ties kept in file order)."""
    order = np.argsort(-peaks["signal"].to_numpy(), kind="stable")
    return peaks.iloc[order[:n]].reset_index(drop=True)


def tf_examples(positives: pd.DataFrame, relaxed: pd.DataFrame, dnase: pd.DataFrame, chrom_sizes: dict[str, int],
                length: int = 1000, top: int = 150_000) -> pd.DataFrame:
    """Labelled regions of one TF: ``chrom, start, end, label`` sorted by position.

    Parameters
    ----------
    positives : DataFrame
        The TF's ChIP-seq peaks with ``summit`` (label 1).
    relaxed : DataFrame
        Relaxed-threshold ChIP-seq peaks with ``signal``; the top ``top`` by signal define where
        the TF may bind.
    dnase : DataFrame
        DNase peaks with ``summit``; those overlapping none of the top relaxed peaks are label 0.
    chrom_sizes : dict
        Chromosome lengths; regions leaving a chromosome are dropped.

    Notes
    -----
    Duplicate regions (the same centred interval twice) are kept once; should a region be both a
    positive and a negative (a DNase summit exactly at a ChIP summit whose peak is not among the top
    relaxed peaks), it is kept as a positive.
    """
    import pybedtools

    from sfcrepro.regions import _bedtool, _bedtools_tmp, _frame, sort_regions

    with _bedtools_tmp():
        bound = _bedtool(top_by_signal(relaxed, top))
        dnase = dnase.reset_index(drop=True).assign(row=lambda d: np.arange(len(d)))
        free = pybedtools.BedTool.from_dataframe(dnase[["chrom", "start", "end", "row"]]).intersect(bound, v=True)
        kept = _frame(free, ("chrom", "start", "end", "row"))["row"].astype(np.int64)
    negatives = centre_on_summits(dnase.iloc[kept.to_numpy()], length, chrom_sizes).assign(label=0)
    pos = centre_on_summits(positives, length, chrom_sizes).assign(label=1)
    log.info("%d positives, %d negatives (of %d DNase peaks, %d overlap the top %d relaxed peaks)", len(pos),
             len(negatives), len(dnase), len(dnase) - len(kept), min(top, len(relaxed)))
    examples = pd.concat([pos, negatives], ignore_index=True).drop_duplicates(["chrom", "start", "end"])
    return sort_regions(examples, chrom_sizes)


def tf_examples_from_files(tf: str, chip, dnase, fai, relaxed=None, chromosomes: str | None = None,
                           policy: str = "fail", length: int = 1000, top: int = 150_000) -> pd.DataFrame:
    """Labelled regions of one TF from its peak files: ``chrom, start, end, <tf>``.

    Parameters
    ----------
    tf : str
        TF name; the label column.
    chip : path-like
        The TF's ChIP-seq peaks, narrowPeak with summits (column 10): the positives.
    dnase : path-like
        DNase peaks, narrowPeak with summits: candidate negatives.
    fai : path-like
        Genome index (``.fai``); peaks on names absent from it are bad lines.
    relaxed : path-like, optional
        Relaxed-threshold ChIP-seq peaks (signal in column 7); default: ``chip`` itself.
    chromosomes : str, optional
        Regular expression of the chromosomes to use; peaks elsewhere are dropped and counted.
    policy : {"fail", "skip"}
        What a bad peak line does (:func:`sfcrepro.regions.read_peaks`).
    length, top
        As in :func:`tf_examples`.
    """
    from sfcrepro.regions import chromosome_filter, read_chrom_sizes, read_used_peaks

    sizes = read_chrom_sizes(fai)
    keep = chromosome_filter(chromosomes)

    def read(path, role, **options):
        return read_used_peaks(path, sizes, chromosomes, policy, label=f"{path} ({tf} {role})", **options)

    positives = read(chip, "ChIP-seq peaks", summits=True)
    relaxed_peaks = read(relaxed if relaxed is not None else chip, "relaxed peaks", signal=True)
    negatives = read(dnase, "DNase peaks", summits=True)
    examples = tf_examples(positives, relaxed_peaks, negatives, {c: n for c, n in sizes.items() if keep(c)},
                           length=length, top=top)
    return examples.rename(columns={"label": tf})


def read_counts(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a counts matrix (``Chr Start End`` then one integer column per sample).

    Returns the peaks (``chrom, start, end``) and the counts (one column per sample).
    """
    with open_text(path) as fh:
        table = pd.read_csv(fh, sep="\t")
    first = [c.lower() for c in table.columns[:3]]
    if first != ["chr", "start", "end"]:
        raise ValueError(f"{path}: the first three columns must be Chr, Start, End; got {list(table.columns[:3])}.")
    counts = table.iloc[:, 3:]
    bad = [c for c in counts.columns if not pd.api.types.is_numeric_dtype(counts[c])]
    if bad:
        raise ValueError(f"{path}: sample columns must hold counts; not numeric: {', '.join(map(str, bad[:5]))}.")
    peaks = pd.DataFrame({"chrom": table.iloc[:, 0].astype(str), "start": table.iloc[:, 1].astype(np.int64),
                          "end": table.iloc[:, 2].astype(np.int64)})
    return peaks, counts


def map_samples(columns, patterns: dict[str, str]) -> dict[str, list[str]]:
    """Sample columns of each cell type, by regular expression (``re.search``).

    Raises
    ------
    ValueError
        Listing the cell types whose pattern matched no column and the columns matched by more
        than one cell type. Columns no pattern matches are logged (they are not used).
    """
    groups = {cell: [c for c in columns if re.search(pattern, str(c))] for cell, pattern in patterns.items()}
    problems = [f"{cell}: pattern {patterns[cell]!r} matches no sample column" for cell, cols in groups.items()
                if not cols]
    owners: dict[str, list[str]] = {}
    for cell, cols in groups.items():
        for column in cols:
            owners.setdefault(column, []).append(cell)
    problems += [f"column {column!r} matches {', '.join(cells)}" for column, cells in owners.items() if len(cells) > 1]
    if problems:
        raise ValueError("Cannot map samples to cell types:\n  - " + "\n  - ".join(problems)
                         + f"\nColumns: {', '.join(map(str, columns))}")
    unused = [c for c in columns if c not in owners]
    if unused:
        log.info("%d sample columns belong to no configured cell type: %s", len(unused), ", ".join(map(str, unused)))
    return groups


def accessibility_calls(counts: pd.DataFrame, groups: dict[str, list[str]], min_cpm: float = 2.0,
                        min_fraction: float = 0.5) -> pd.DataFrame:
    """0/1 accessibility per peak (row) and cell type (column), from replicate counts.

    A peak is accessible in a cell type when its counts per million (of the sample's total) are
    at least ``min_cpm`` in at least ``min_fraction`` of the cell type's samples.
    """
    totals = counts.sum(axis=0)
    if (totals == 0).any():
        raise ValueError(f"samples with no counts: {', '.join(map(str, totals.index[totals == 0]))}")
    cpm = counts / totals * 1e6
    calls = {}
    for cell, columns in groups.items():
        calls[cell] = ((cpm[columns] >= min_cpm).mean(axis=1) >= min_fraction).astype(np.uint8)
    return pd.DataFrame(calls)


def calls_from_counts(path, patterns: dict[str, str], min_cpm: float = 2.0, min_fraction: float = 0.5) -> pd.DataFrame:
    """``chrom, start, end`` of every counts-matrix peak and its 0/1 call per cell type."""
    peaks, counts = read_counts(path)
    groups = map_samples(list(counts.columns), patterns)
    for cell, columns in groups.items():
        log.info("%s: %d samples (%s)", cell, len(columns), ", ".join(map(str, columns)))
    calls = accessibility_calls(counts, groups, min_cpm=min_cpm, min_fraction=min_fraction)
    log.info("%d peaks; accessible per cell type: %s", len(peaks),
             ", ".join(f"{cell} {int(calls[cell].sum())}" for cell in calls))
    return pd.concat([peaks, calls], axis=1)


def windows_from_calls(calls: pd.DataFrame, cells: list[str], fai, chromosomes: str | None = None,
                       label: str = "counts matrix", **window_options) -> pd.DataFrame:
    """Labelled windows (:func:`sfcrepro.regions.label_windows`) from per-cell-type peak calls.

    Every peak's coordinates are checked against the genome first; a bad one stops the build with
    its row and the reason.
    """
    from sfcrepro.regions import PeakError, _check_line, chromosome_filter, label_windows, read_chrom_sizes

    sizes = read_chrom_sizes(fai)
    for row, (chrom, start, end) in enumerate(calls[["chrom", "start", "end"]].itertuples(index=False), start=2):
        problem = _check_line([str(chrom), str(start), str(end)], sizes, summits=False)
        if problem:
            raise PeakError(f"{label}, line {row}: {problem}")
    keep = chromosome_filter(chromosomes)
    used = calls[calls["chrom"].map(keep)]
    peaks = {cell: used.loc[used[cell] == 1, ["chrom", "start", "end"]] for cell in cells}
    return label_windows(peaks, {c: n for c, n in sizes.items() if keep(c)}, **window_options)
