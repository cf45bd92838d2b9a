"""Building blocks of the in vivo datasets (paper sections 2.3-2.4).

TF binding (Shrikumar et al. 2017b): for each TF, positives are ``length`` bp regions centred on
its ChIP-seq summits; negatives are DNase peaks (GM12878, E116) with no overlap with the TF's top
``top`` relaxed ChIP-seq peaks (ranked by signal value), centred on their DNase summits. A peak that
a MACS2 file lists once per summit is used once, at its strongest summit (:func:`sfcrepro.data.regions.one_summit_per_peak`).

Hematopoiesis accessibility (Corces et al. 2016): the GEO counts matrix (``Chr Start End`` then
one column per sample) is turned into a 0/1 call per peak and cell type. Sample columns are assigned
to cell types by one regular expression per cell type from the config (:func:`map_samples`); the
GEO column names are not uniform (``4983-1A``, ``Donor7256-1A-110614``, ``Donor2596-HSC-1A-150303``,
``Donor1022-Bcell-13-150120``, ``SU070-pHSC-Rep2-140805``), so the paper configuration's patterns
are tested against the full column list (``tests/data/GSE74912_sample_columns.tsv``). Counts are normalised to
counts per million (CPM) of each sample's total, and a peak is accessible in a cell type when its
CPM reaches ``min_cpm`` in at least ``min_fraction`` of that cell type's samples. The calls then
become labelled ``length`` bp regions by one of two recipes (config ``windows.recipe``):

* ``peaks`` (the default, :func:`peak_regions`): one region centred on each counts-matrix peak,
  labelled directly by that peak's calls; every peak is an example, including those accessible in
  no cell type (all labels 0). At paper scale this gives about one example per peak (590,650 in
  the GEO matrix), the count closest to the paper's 837,977.
* ``tiles``: each cell type's accessible peaks go through the same merge, pad, tile, label and
  expand steps as the simulated accessibility data (:func:`sfcrepro.data.regions.label_windows`),
  i.e. several overlapping windows per peak (millions of examples at paper scale).

The pipeline wires these in ``workflow/rules/invivo.smk``: :func:`tf_examples_from_files` per TF,
:func:`calls_from_counts` and :func:`windows_from_calls` for hematopoiesis; both datasets then get
their real genome sequence from :func:`sfcrepro.data.sim_access.build_regions`.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from sfcrepro.data.io import open_text
from sfcrepro.data.negatives import free_of
from sfcrepro.data.regions import (
    PeakError,
    centre_on_summits,
    centred_regions,
    chromosome_filter,
    label_windows,
    peak_line_problem,
    read_chrom_sizes,
    read_summit_peaks,
    read_used_peaks,
    sort_regions,
    top_by_signal,
)

__all__ = [
    "RECIPES",
    "accessibility_calls",
    "calls_from_counts",
    "windows_from_calls",
    "map_samples",
    "peak_regions",
    "read_counts",
    "tf_examples",
    "tf_examples_from_files",
]

log = logging.getLogger("sfcrepro.data.invivo")


def tf_examples(
    positives: pd.DataFrame,
    relaxed: pd.DataFrame,
    dnase: pd.DataFrame,
    chrom_sizes: dict[str, int],
    length: int = 1000,
    top: int = 150_000,
) -> pd.DataFrame:
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

    dnase = dnase.reset_index(drop=True)
    kept = free_of(dnase, top_by_signal(relaxed, top))
    negatives = centre_on_summits(dnase.iloc[kept], length, chrom_sizes).assign(label=0)
    pos = centre_on_summits(positives, length, chrom_sizes).assign(label=1)
    log.info(
        "%d positives, %d negatives (of %d DNase peaks, %d overlap the top %d relaxed peaks)",
        len(pos),
        len(negatives),
        len(dnase),
        len(dnase) - len(kept),
        min(top, len(relaxed)),
    )
    examples = pd.concat([pos, negatives], ignore_index=True).drop_duplicates(
        ["chrom", "start", "end"]
    )
    return sort_regions(examples, chrom_sizes)


def tf_examples_from_files(
    tf: str,
    chip,
    dnase,
    fai,
    relaxed=None,
    chromosomes: str | None = None,
    policy: str = "fail",
    **options,
) -> pd.DataFrame:
    """Labelled regions of one TF from its peak files: ``chrom, start, end, <tf>``.

    Parameters
    ----------
    tf : str
        TF name; the label column.
    chip : path-like
        The TF's ChIP-seq peaks, narrowPeak with summits (column 10): the positives.
    dnase : path-like
        DNase peaks, narrowPeak with summits: candidate negatives. In both files a peak listed
        once per summit is used once, at its strongest summit (:func:`sfcrepro.data.regions.one_summit_per_peak`).
    fai : path-like
        Genome index (``.fai``); peaks on names absent from it are bad lines.
    relaxed : path-like, optional
        Relaxed-threshold ChIP-seq peaks (signal in column 7); default: ``chip`` itself.
    chromosomes : str, optional
        Regular expression of the chromosomes to use; peaks elsewhere are dropped and counted.
    policy : {"fail", "skip"}
        What a bad peak line does (:func:`sfcrepro.data.regions.read_peaks`).
    **options
        ``length`` and ``top``, passed to :func:`tf_examples` (its defaults apply).
    """

    sizes = read_chrom_sizes(fai)
    keep = chromosome_filter(chromosomes)

    def read(path, role, **options):
        return read_used_peaks(
            path, sizes, chromosomes, policy, label=f"{path} ({tf} {role})", **options
        )

    def summits(path, role):
        return read_summit_peaks(path, sizes, chromosomes, policy, label=f"{path} ({tf} {role})")

    positives = summits(chip, "ChIP-seq peaks")
    relaxed_peaks = read(relaxed if relaxed is not None else chip, "relaxed peaks", signal=True)
    negatives = summits(dnase, "DNase peaks")
    examples = tf_examples(
        positives,
        relaxed_peaks,
        negatives,
        {c: n for c, n in sizes.items() if keep(c)},
        **options,
    )
    return examples.rename(columns={"label": tf})


def read_counts(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a counts matrix (``Chr Start End`` then one integer column per sample).

    Returns the peaks (``chrom, start, end``) and the counts (one column per sample).
    """
    with open_text(path) as fh:
        table = pd.read_csv(fh, sep="\t")
    first = [c.lower() for c in table.columns[:3]]
    if first != ["chr", "start", "end"]:
        raise ValueError(
            f"{path}: the first three columns must be Chr, Start, End; got {list(table.columns[:3])}."
        )
    counts = table.iloc[:, 3:]
    bad = [c for c in counts.columns if not pd.api.types.is_numeric_dtype(counts[c])]
    if bad:
        raise ValueError(
            f"{path}: sample columns must hold counts; not numeric: {', '.join(map(str, bad[:5]))}."
        )
    peaks = pd.DataFrame(
        {
            "chrom": table.iloc[:, 0].astype(str),
            "start": table.iloc[:, 1].astype(np.int64),
            "end": table.iloc[:, 2].astype(np.int64),
        }
    )
    return peaks, counts


def map_samples(columns, patterns: dict[str, str], unused=()) -> dict[str, list[str]]:
    """Sample columns of each cell type, by regular expression (``re.search``).

    Parameters
    ----------
    columns : list of str
        The counts matrix's sample columns.
    patterns : dict
        Cell type -> regular expression of its columns.
    unused : list of str
        The columns that no cell type is meant to claim (the config's ``unused_samples``; in the
        Corces matrix the three CD34+ columns), by exact name. Any other column that no pattern
        matches stops the run: a header that differs slightly from what a pattern expects (a
        space, a suffix) would otherwise drop a sample from its cell type without a word.

    Raises
    ------
    ValueError
        Listing the cell types whose pattern matched no column, the columns matched by more
        than one cell type, the columns no cell type claims that ``unused`` does not list, and
        the listed ones that a cell type claims. Listed columns missing from the matrix are
        logged as a warning.
    """
    groups = {
        cell: [c for c in columns if re.search(pattern, str(c))]
        for cell, pattern in patterns.items()
    }
    problems = [
        f"{cell}: pattern {patterns[cell]!r} matches no sample column"
        for cell, cols in groups.items()
        if not cols
    ]
    owners: dict[str, list[str]] = {}
    for cell, cols in groups.items():
        for column in cols:
            owners.setdefault(column, []).append(cell)
    problems += [
        f"column {column!r} matches {', '.join(cells)}"
        for column, cells in owners.items()
        if len(cells) > 1
    ]
    unused = [str(c) for c in unused]
    problems += [
        f"column {column!r} is claimed by no cell type: fix the pattern of the cell type it "
        "belongs to, or list it under unused_samples if no cell type should use it"
        for column in columns
        if column not in owners and str(column) not in unused
    ]
    problems += [
        f"column {column!r} is listed under unused_samples but {', '.join(owners[column])} "
        "claims it: remove it from one of them"
        for column in unused
        if column in owners
    ]
    if problems:
        raise ValueError(
            "Cannot map samples to cell types:\n  - "
            + "\n  - ".join(problems)
            + f"\nColumns: {', '.join(map(str, columns))}"
        )
    left = [c for c in columns if c not in owners]
    if left:
        log.info(
            "%d sample columns belong to no cell type, as unused_samples says: %s",
            len(left),
            ", ".join(map(str, left)),
        )
    missing = [c for c in unused if c not in set(map(str, columns))]
    if missing:
        log.warning(
            "unused_samples lists columns the counts matrix does not have: %s",
            ", ".join(missing),
        )
    return groups


def accessibility_calls(
    counts: pd.DataFrame,
    groups: dict[str, list[str]],
    min_cpm: float = 2.0,
    min_fraction: float = 0.5,
) -> pd.DataFrame:
    """0/1 accessibility per peak (row) and cell type (column), from replicate counts.

    A peak is accessible in a cell type when its counts per million (of the sample's total) are
    at least ``min_cpm`` in at least ``min_fraction`` of the cell type's samples.
    """
    totals = counts.sum(axis=0)
    if (totals == 0).any():
        raise ValueError(
            f"samples with no counts: {', '.join(map(str, totals.index[totals == 0]))}"
        )
    cpm = counts / totals * 1e6
    calls = {}
    for cell, columns in groups.items():
        calls[cell] = ((cpm[columns] >= min_cpm).mean(axis=1) >= min_fraction).astype(np.uint8)
    return pd.DataFrame(calls)


def calls_from_counts(
    path,
    patterns: dict[str, str],
    min_cpm: float = 2.0,
    min_fraction: float = 0.5,
    unused=(),
) -> pd.DataFrame:
    """``chrom, start, end`` of every counts-matrix peak and its 0/1 call per cell type
    (columns mapped by :func:`map_samples`, ``unused`` the columns no cell type claims)."""
    peaks, counts = read_counts(path)
    try:
        groups = map_samples(list(counts.columns), patterns, unused)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    for cell, columns in groups.items():
        log.info("%s: %d samples (%s)", cell, len(columns), ", ".join(map(str, columns)))
    calls = accessibility_calls(counts, groups, min_cpm=min_cpm, min_fraction=min_fraction)
    log.info(
        "%d peaks; accessible per cell type: %s",
        len(peaks),
        ", ".join(f"{cell} {int(calls[cell].sum())}" for cell in calls),
    )
    return pd.concat([peaks, calls], axis=1)


RECIPES = ("peaks", "tiles")


def peak_regions(
    calls: pd.DataFrame, cells: list[str], chrom_sizes: dict[str, int], length: int = 1000
) -> pd.DataFrame:
    """One ``length`` bp region centred on each peak, labelled by that peak's calls.

    Parameters
    ----------
    calls : DataFrame
        ``chrom, start, end`` of each peak and its 0/1 call per cell type (the columns ``cells``),
        as :func:`calls_from_counts` gives; coordinates already checked, chromosomes already
        filtered.
    cells : list of str
        The label columns, in task order.
    chrom_sizes : dict
        Chromosome lengths, in genome order; regions leaving a chromosome are dropped (and
        counted in the log).
    length : int
        Region length; the region of a peak starts at ``(start + end) // 2 - length // 2``.

    Returns
    -------
    DataFrame
        ``chrom, start, end`` then one uint8 label column per cell type, sorted by chromosome (in
        genome order) and start. Peaks accessible in no cell type are kept (all labels 0).

    Notes
    -----
    Two peaks whose regions coincide (the same centred interval) give one region whose label is
    the OR (maximum) of theirs; the number merged is logged.
    """

    centre = (calls["start"].to_numpy(np.int64) + calls["end"].to_numpy(np.int64)) // 2
    labels = {cell: calls[cell].to_numpy().astype(np.uint8) for cell in cells}
    regions = centred_regions(
        calls["chrom"].astype(str).to_numpy(), centre, length, chrom_sizes, labels
    )
    regions = sort_regions(regions, chrom_sizes)
    key = ["chrom", "start", "end"]
    repeated = regions.duplicated(key)
    if repeated.any():
        log.info(
            "%d peaks give the same %d bp region as an earlier peak: kept once, labels OR-ed",
            int(repeated.sum()),
            length,
        )
        regions = regions.groupby(key, sort=False, as_index=False)[list(cells)].max()
    return regions


def windows_from_calls(
    calls: pd.DataFrame,
    cells: list[str],
    fai,
    chromosomes: str | None = None,
    label: str = "counts matrix",
    recipe: str = "peaks",
    length: int = 1000,
    **tiling,
) -> pd.DataFrame:
    """Labelled ``length`` bp regions from per-cell-type peak calls, by ``recipe``.

    Every peak's coordinates are checked against the genome first; a bad one stops the build with
    its row and the reason. Peaks on chromosomes that do not fully match ``chromosomes`` are then
    dropped (and counted in the log).

    Parameters
    ----------
    calls : DataFrame
        ``chrom, start, end`` and one 0/1 column per cell type (:func:`calls_from_counts`).
    cells : list of str
        The cell types (tasks), in order.
    fai : path-like
        Genome index (``.fai``) or chrom.sizes file.
    chromosomes : str, optional
        Regular expression of the chromosomes to use (None: all).
    label : str
        How errors name the calls (the file); row numbers count the header as line 1.
    recipe : {"peaks", "tiles"}
        ``peaks``: one region centred on each peak, labelled by its calls (:func:`peak_regions`);
        ``tiles``: merge, pad, tile, label and expand each cell type's accessible peaks
        (:func:`sfcrepro.data.regions.label_windows`).
    length : int
        Region length of either recipe.
    **tiling
        ``pad``, ``window``, ``stride``, ``min_overlap`` of :func:`sfcrepro.data.regions.label_windows`;
        used by ``tiles`` only, ignored by ``peaks``.

    Raises
    ------
    ValueError
        An unknown ``recipe``.
    sfcrepro.data.regions.PeakError
        A peak with bad coordinates (its line and the reason).
    """

    if recipe not in RECIPES:
        raise ValueError(f"unknown region recipe {recipe!r}; choose one of {', '.join(RECIPES)}.")
    sizes = read_chrom_sizes(fai)
    for row, (chrom, start, end) in enumerate(
        calls[["chrom", "start", "end"]].itertuples(index=False), start=2
    ):
        problem = peak_line_problem([str(chrom), str(start), str(end)], sizes, summits=False)
        if problem:
            raise PeakError(f"{label}, line {row}: {problem}")
    keep = chromosome_filter(chromosomes)
    kept = calls["chrom"].map(keep)
    if not kept.all():
        log.info(
            "dropped %d of %d peaks on chromosomes outside %r",
            int((~kept).sum()),
            len(calls),
            chromosomes,
        )
    used = calls[kept]
    used_sizes = {c: n for c, n in sizes.items() if keep(c)}
    if recipe == "peaks":
        if tiling:
            log.info("recipe peaks: ignoring the tiling options %s", ", ".join(sorted(tiling)))
        return peak_regions(used, cells, used_sizes, length=length)
    peaks = {cell: used.loc[used[cell] == 1, ["chrom", "start", "end"]] for cell in cells}
    return label_windows(peaks, used_sizes, length=length, **tiling)
