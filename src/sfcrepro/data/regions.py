"""Genomic intervals: reading peak files and building labelled windows (paper section 2.3).

The accessibility recipe, with BEDTools (through pybedtools) for the interval work:

1. merge the peaks of all cell types;
2. pad each merged region by ``pad`` bp per side (clipped to the chromosome) and merge again, so
   that padded neighbours do not give duplicate windows;
3. tile ``window`` bp windows with stride ``stride`` (full windows only);
4. label a window 1 for a cell type when at least ``min_overlap`` of it is covered by that cell
   type's peaks;
5. expand each window to ``length`` bp around its centre, dropping windows that would leave the
   chromosome.

Peak files are BED or narrowPeak, plain or gzip-compressed. Bad lines are reported with file and
line number; the policy decides whether they stop the run (``fail``, the default) or are skipped
and counted (``skip``).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pybedtools

from sfcrepro.data.bedtools import from_bedtool, temporary_folder, to_bedtool
from sfcrepro.data.io import open_text
from sfcrepro.data.negatives import covered_labels

__all__ = [
    "PeakError",
    "centre_on_summits",
    "centred_regions",
    "chrom_hint",
    "chromosome_filter",
    "intersect_summits",
    "label_windows",
    "one_summit_per_peak",
    "peak_line_problem",
    "read_chrom_sizes",
    "read_peaks",
    "read_summit_peaks",
    "read_used_peaks",
    "sort_regions",
    "top_by_signal",
    "summits_from_files",
    "window_fractions",
    "windows_from_files",
]

log = logging.getLogger("sfcrepro.data.regions")


class PeakError(ValueError):
    """A peak file line that cannot be used."""


def read_chrom_sizes(path) -> dict[str, int]:
    """Chromosome sizes from a ``.fai`` index or a ``chrom.sizes`` file (first two columns)."""
    sizes = {}
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            fields = line.split("\t") if "\t" in line else line.split()
            if not fields or not line.strip():
                continue
            try:
                sizes[fields[0]] = int(fields[1])
            except (IndexError, ValueError):
                raise PeakError(
                    f"{path}, line {number}: expected 'name<TAB>length', got {line.rstrip()!r}."
                ) from None
    return sizes


def chrom_hint(chrom: str, sizes: dict[str, int]) -> str:
    if chrom.startswith("chr") and chrom[3:] in sizes:
        return f" The genome names chromosomes without 'chr' ({chrom[3:]!r}); the peaks use the UCSC 'chr' prefix."
    if f"chr{chrom}" in sizes:
        return f" The genome names chromosomes with 'chr' ('chr{chrom}'); the peaks use Ensembl names without it."
    return " Is the peak file for the same genome build as the FASTA?"


def read_peaks(
    path,
    chrom_sizes: dict[str, int],
    policy: str = "fail",
    summits: bool = False,
    label: str | None = None,
    signal: bool = False,
) -> tuple[pd.DataFrame, int]:
    """Read a BED/narrowPeak file into ``chrom, start, end`` (+ ``summit``, absolute position).

    Parameters
    ----------
    path : path-like
        BED (3+ columns) or narrowPeak (10 columns; column 10 is the summit offset from the start,
        ``-1`` for none; an offset equal to the peak width is accepted).
    chrom_sizes : dict
        Chromosome lengths of the genome; peaks on other names are bad lines.
    policy : {"fail", "skip"}
        ``fail`` raises :class:`PeakError` at the first bad line; ``skip`` drops bad lines and
        returns their count.
    summits : bool
        Require column 10 and return the absolute summit position as ``summit``.
    label : str, optional
        Name used in messages (default: the path).
    signal : bool
        Also return narrowPeak column 7 (signal value) as ``signal``, e.g. to rank peaks.

    Returns
    -------
    (DataFrame, int)
        The peaks and the number of skipped lines.
    """
    if policy not in ("fail", "skip"):
        raise ValueError(f"policy must be 'fail' or 'skip', got {policy!r}")
    label = label or str(path)
    rows, skipped, first_problem = [], 0, None
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            problem = peak_line_problem(fields, chrom_sizes, summits, signal)
            if problem is None:
                chrom, start, end = fields[0], int(fields[1]), int(fields[2])
                row = [chrom, start, end]
                if summits:
                    offset = int(fields[9])
                    row.append(start + offset if offset >= 0 else (start + end) // 2)
                if signal:
                    row.append(float(fields[6]))
                rows.append(row)
                continue
            message = f"{label}, line {number}: {problem}"
            if policy == "fail":
                raise PeakError(
                    message
                    + " Fix the file, or set peak_errors: skip in the config to drop such lines."
                )
            skipped += 1
            first_problem = first_problem or message
    if skipped:
        log.warning("%s: skipped %d bad lines; the first: %s", label, skipped, first_problem)
    columns = (
        ["chrom", "start", "end"] + (["summit"] if summits else []) + (["signal"] if signal else [])
    )
    peaks = pd.DataFrame(rows, columns=columns)
    if peaks.empty:
        raise PeakError(f"{label}: no usable peaks (empty file, or every line was bad).")
    return peaks, skipped


def peak_line_problem(
    fields: list[str], sizes: dict[str, int], summits: bool, signal: bool = False
) -> str | None:
    """What is wrong with one peak line split into ``fields`` (None: nothing): too few columns
    (3, 7 with ``signal``, 10 with ``summits``), a chromosome not in ``sizes``, bad coordinates,
    summit or signal."""
    need = 10 if summits else 7 if signal else 3
    if len(fields) < need:
        kind = (
            "narrowPeak with a summit in column 10"
            if summits
            else "narrowPeak with a signal value in column 7"
            if signal
            else "BED"
        )
        return f"{len(fields)} columns, but {kind} needs at least {need}."
    chrom = fields[0]
    if chrom not in sizes:
        return f"chromosome {chrom!r} is not in the genome.{chrom_hint(chrom, sizes)}"
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        return f"start and end must be whole numbers, got {fields[1]!r} and {fields[2]!r}."
    if start < 0:
        return f"negative start {start}."
    if start >= end:
        return f"start {start} is not below end {end}."
    if end > sizes[chrom]:
        return f"end {end} is beyond the end of {chrom} ({sizes[chrom]} bp)."
    if summits:
        try:
            offset = int(fields[9])
        except ValueError:
            return f"summit (column 10) must be a whole number, got {fields[9]!r}."
        if offset != -1 and not 0 <= offset <= end - start:
            return f"summit offset {offset} lies outside the peak (width {end - start})."
    if signal:
        try:
            float(fields[6])
        except ValueError:
            return f"signal value (column 7) must be a number, got {fields[6]!r}."
    return None


def label_windows(
    peaks: dict[str, pd.DataFrame],
    chrom_sizes: dict[str, int],
    pad: int = 100,
    window: int = 200,
    stride: int = 50,
    min_overlap: float = 0.5,
    length: int = 1000,
) -> pd.DataFrame:
    """Merge, pad, tile, label and expand (steps 1-5 of the module docstring).

    Parameters
    ----------
    peaks : dict of str to DataFrame
        Per cell type (task), its peaks (``chrom, start, end``).
    chrom_sizes : dict
        Chromosome lengths.

    Returns
    -------
    DataFrame
        ``chrom, start, end`` of each ``length`` bp region, then one uint8 label column per cell
        type (in the order of ``peaks``), sorted by chromosome and start.
    """
    with temporary_folder() as tmp:
        genome = tmp / "chrom.sizes"
        genome.write_text("".join(f"{c}\t{n}\n" for c, n in chrom_sizes.items()))
        everything = pd.concat(
            [p[["chrom", "start", "end"]] for p in peaks.values()], ignore_index=True
        )
        padded = to_bedtool(everything).merge().slop(b=pad, g=str(genome)).sort().merge()
        tiles = pybedtools.BedTool().window_maker(b=padded, w=window, s=stride)
        windows = from_bedtool(tiles)
        windows = windows[windows["end"] - windows["start"] == window].reset_index(drop=True)
        log.info(
            "%d merged padded regions, %d full %d bp windows",
            len(from_bedtool(padded)),
            len(windows),
            window,
        )
        tiles = to_bedtool(windows)
        for name, frame in peaks.items():
            if frame.empty:
                log.warning("%s has no peaks: every window is labelled 0 for it", name)
                windows[name] = np.zeros(len(windows), dtype=np.uint8)
                continue
            covered = tiles.coverage(to_bedtool(frame).merge())
            cov = from_bedtool(
                covered, ("chrom", "start", "end", "count", "bases", "width", "fraction")
            )
            windows[name] = covered_labels(window_fractions(cov, windows, name), min_overlap)
    centre = (windows["start"] + windows["end"]) // 2
    windows["start"] = centre - length // 2
    windows["end"] = windows["start"] + length
    inside = (windows["start"] >= 0) & (windows["end"] <= windows["chrom"].map(chrom_sizes))
    if (~inside).any():
        log.info(
            "dropped %d windows whose %d bp region leaves the chromosome",
            int((~inside).sum()),
            length,
        )
    return sort_regions(windows[inside], chrom_sizes)


def window_fractions(coverage: pd.DataFrame, windows: pd.DataFrame, name: str) -> np.ndarray:
    """The covered fraction of each window, looked up in BEDTools ``coverage`` output.

    Parameters
    ----------
    coverage : DataFrame
        ``chrom, start, end, ..., fraction``: one row per window.
    windows : DataFrame
        The windows (``chrom, start, end``), in the order wanted.
    name : str
        The cell type, for the message.

    Raises
    ------
    RuntimeError
        When a window has no row in ``coverage``: labelling it 0 would turn a lookup failure
        (e.g. coordinates that BEDTools wrote back differently) into a silent negative.
    """
    table = coverage.set_index(["chrom", "start", "end"])["fraction"]
    if not table.index.is_unique:
        table = table[~table.index.duplicated()]
    fraction = table.reindex(pd.MultiIndex.from_frame(windows[["chrom", "start", "end"]])).to_numpy(
        dtype=float
    )
    missing = np.flatnonzero(np.isnan(fraction))
    if len(missing):
        first = windows.iloc[missing[0]]
        raise RuntimeError(
            f"{len(missing)} of {len(windows)} windows have no coverage row for {name} (the first: "
            f"{first['chrom']}:{first['start']}-{first['end']}); BEDTools coverage output does not "
            "match the windows. This is a bug or a BEDTools version problem: please report it with "
            "the log."
        )
    return fraction


def sort_regions(frame: pd.DataFrame, chrom_sizes: dict[str, int]) -> pd.DataFrame:
    """Rows sorted by chromosome (in genome order) then start, with a fresh index."""
    order = {c: i for i, c in enumerate(chrom_sizes)}
    frame = frame.assign(_order=frame["chrom"].map(order))
    return (
        frame.sort_values(["_order", "start"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def intersect_summits(regions: pd.DataFrame, summits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Summits that fall inside regions: ``region`` (row of ``regions``), ``tf``, ``position``.

    ``summits`` maps a TF name to a frame with ``chrom`` and ``summit`` (absolute position).
    A summit inside several (overlapping) regions is reported for each.
    """
    rows = []
    with temporary_folder():
        indexed = regions[["chrom", "start", "end"]].copy()
        indexed["region"] = np.arange(len(regions))
        region_bed = pybedtools.BedTool.from_dataframe(indexed).sort()
        for tf, frame in summits.items():
            points = pd.DataFrame(
                {"chrom": frame["chrom"], "start": frame["summit"], "end": frame["summit"] + 1}
            )
            hits = region_bed.intersect(
                pybedtools.BedTool.from_dataframe(points).sort(), wa=True, wb=True, sorted=False
            )
            table = from_bedtool(
                hits, ("chrom", "start", "end", "region", "s_chrom", "position", "s_end")
            )
            if len(table):
                rows.append(
                    pd.DataFrame(
                        {
                            "region": table["region"].astype(np.int64),
                            "tf": tf,
                            "position": table["position"].astype(np.int64),
                        }
                    )
                )
    if not rows:
        return pd.DataFrame(
            {
                "region": pd.Series(dtype=np.int64),
                "tf": pd.Series(dtype=str),
                "position": pd.Series(dtype=np.int64),
            }
        )
    return (
        pd.concat(rows, ignore_index=True)
        .sort_values(["region", "position", "tf"])
        .reset_index(drop=True)
    )


def centred_regions(
    chroms, centres, length: int, chrom_sizes: dict[str, int], labels: dict | None = None
) -> pd.DataFrame:
    """``length`` bp regions centred on ``centres``, one per peak (``chrom, start, end``, then the
    ``labels`` columns), dropping (and counting in the log) those leaving their chromosome."""
    start = np.asarray(centres, dtype=np.int64) - length // 2
    regions = pd.DataFrame({"chrom": np.asarray(chroms), "start": start, "end": start + length})
    for name, values in (labels or {}).items():
        regions[name] = values
    inside = (regions["start"] >= 0) & (regions["end"] <= regions["chrom"].map(chrom_sizes))
    if (~inside).any():
        log.info(
            "dropped %d of %d peaks whose %d bp region leaves the chromosome",
            int((~inside).sum()),
            len(regions),
            length,
        )
    return regions[inside].reset_index(drop=True)


def centre_on_summits(
    peaks: pd.DataFrame, length: int, chrom_sizes: dict[str, int]
) -> pd.DataFrame:
    """``length`` bp regions centred on each peak's ``summit``, dropping those leaving the chromosome."""
    return centred_regions(peaks["chrom"].to_numpy(), peaks["summit"], length, chrom_sizes)


def one_summit_per_peak(peaks: pd.DataFrame) -> pd.DataFrame:
    """Each peak (``chrom, start, end``) once, with its strongest summit.

    MACS2 narrowPeak files list a peak with several summits once per summit (same interval,
    different column 10 and signal): the Roadmap DNase files and the ENCODE H1 DNase IDR file
    (ENCSR000EMU; 69,237 of its 131,354 lines belong to 28,471 such peaks). Centred on every
    summit, one peak would give several nearly identical regions. The row with the highest
    ``signal`` (narrowPeak column 7) is kept; on a tie, the first in file order. Peaks keep their
    file order.
    """
    if peaks.empty:
        return peaks
    order = np.argsort(-peaks["signal"].to_numpy(), kind="stable")
    strongest = peaks.iloc[order].drop_duplicates(["chrom", "start", "end"], keep="first")
    return peaks.loc[np.sort(strongest.index.to_numpy())].reset_index(drop=True)


def top_by_signal(peaks: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` peaks with the highest ``signal`` (ties kept in file order)."""
    order = np.argsort(-peaks["signal"].to_numpy(), kind="stable")
    return peaks.iloc[order[:n]].reset_index(drop=True)


def read_summit_peaks(
    path, sizes: dict[str, int], chromosomes: str | None = None, policy: str = "fail", label=None
) -> pd.DataFrame:
    """A narrowPeak file's peaks with summits (:func:`sfcrepro.data.regions.read_used_peaks`), each
    peak once at its strongest summit (:func:`one_summit_per_peak`; the lines dropped are logged).
    """
    label = label or str(path)
    peaks = read_used_peaks(
        path, sizes, chromosomes, policy, label=label, summits=True, signal=True
    )
    kept = one_summit_per_peak(peaks)
    if len(kept) < len(peaks):
        log.info(
            "%s: %d lines are further summits of a listed peak; kept each peak once, with its "
            "strongest summit (%d peaks)",
            label,
            len(peaks) - len(kept),
            len(kept),
        )
    return kept


def chromosome_filter(pattern: str | None):
    """A predicate keeping chromosome names that fully match ``pattern`` (None: keep all)."""
    if not pattern:
        return lambda name: True
    compiled = re.compile(pattern)
    return lambda name: compiled.fullmatch(name) is not None


def read_used_peaks(
    path,
    sizes: dict[str, int],
    chromosomes: str | None = None,
    policy: str = "fail",
    label: str | None = None,
    **options,
) -> pd.DataFrame:
    """:func:`read_peaks`, keeping the peaks on chromosomes that fully match ``chromosomes``.

    Peaks on chromosomes the genome has but the pattern excludes are dropped and counted in the
    log; names absent from the genome are bad lines (``policy``).
    """
    label = label or str(path)
    frame, _ = read_peaks(path, sizes, policy=policy, label=label, **options)
    kept = frame["chrom"].map(chromosome_filter(chromosomes))
    if not kept.all():
        log.info(
            "%s: %d of %d peaks are on chromosomes outside %r and are not used",
            label,
            int((~kept).sum()),
            len(frame),
            chromosomes,
        )
    return frame[kept].reset_index(drop=True)


def windows_from_files(
    peak_files: dict[str, str],
    fai,
    chromosomes: str | None = None,
    policy: str = "fail",
    **window_options,
) -> pd.DataFrame:
    """Read each cell type's peak file and build its labelled windows (:func:`label_windows`).

    Peaks on chromosomes that exist in the genome but do not match ``chromosomes`` (a regular
    expression, e.g. ``chr([0-9]+|X|Y)``) are dropped and counted; names absent from the genome are
    errors (or skipped, per ``policy``).
    """
    sizes = read_chrom_sizes(fai)
    keep = chromosome_filter(chromosomes)
    peaks = {}
    for name, path in peak_files.items():
        peaks[name] = read_used_peaks(
            path, sizes, chromosomes, policy, label=f"{path} (cell type {name})"
        )
        log.info("%s: %d peaks", name, len(peaks[name]))
    windows = label_windows(peaks, {c: n for c, n in sizes.items() if keep(c)}, **window_options)
    log.info(
        "%d regions; positives per cell type: %s",
        len(windows),
        ", ".join(f"{name} {int(windows[name].sum())}" for name in peak_files),
    )
    return windows


def summits_from_files(
    windows: pd.DataFrame, tf_files: dict[str, str], fai, policy: str = "fail"
) -> pd.DataFrame:
    """Summits (narrowPeak column 10) of each TF's peaks that fall in the windows' regions."""
    sizes = read_chrom_sizes(fai)
    summits = {}
    for tf, path in tf_files.items():
        frame, _ = read_peaks(path, sizes, policy=policy, summits=True, label=f"{path} (TF {tf})")
        summits[tf] = frame
    hits = intersect_summits(windows, summits)
    counts = hits.groupby("tf").size()
    log.info(
        "summits in regions: %s", ", ".join(f"{tf} {int(counts.get(tf, 0))}" for tf in tf_files)
    )
    return hits
