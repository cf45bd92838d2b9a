"""Writers for outputs that other genomics tools read: bigWig tracks, modisco-lite inputs, BED.

:func:`write_bigwig`
    Per-base scores of genomic regions (e.g. attributions or per-base predictions of tiled
    windows) as a bigWig track, written with ``pybigtools``; overlapping regions are averaged.
:func:`write_modisco_inputs`
    ``ohe.npz`` and ``shap.npz`` for the modisco-lite command line,
    ``modisco motifs -s ohe.npz -a shap.npz -n <max seqlets> -w <window>``.
:func:`write_prediction_bed`
    A tab-separated, BED-like table of regions with one column per prediction (and label),
    readable by bedtools / ``pybedtools`` and by pandas.

Every file is written to a temporary name and renamed when complete
(:func:`sfcrepro.data.io.atomic_path`), and all inputs are checked before anything is written, so an
error leaves no file, complete or partial, at the destination.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sfcrepro.data.io import atomic_path, write_tsv
from sfcrepro.data.sequences import N_CODE, one_hot

__all__ = ["write_bigwig", "write_modisco_inputs", "write_prediction_bed"]

_BIGWIG_SUFFIXES = (".bw", ".bigWig", ".bigwig")  # the names pybigtools 0.3 accepts


# --------------------------------------------------------------------------------------------
# bigWig


def _region_name(chrom, start, length) -> str:
    return f"{chrom}:{start}-{start + length}"


def _check_regions(chrom_sizes, chroms, starts, length: int):
    """Validated chromosome names (str array) and starts (int64 array) of N regions of ``length``."""
    n = len(chroms)
    chroms = np.asarray([str(c) for c in chroms], dtype=object)
    starts = np.asarray(starts)
    if starts.shape != (n,):
        raise ValueError(f"starts must have shape ({n},) like chroms, got {starts.shape}.")
    if n and not np.issubdtype(starts.dtype, np.integer):
        if not np.array_equal(starts, np.round(starts)):
            raise ValueError("starts must be whole numbers (0-based region starts).")
    starts = starts.astype(np.int64)
    for i, (chrom, start) in enumerate(zip(chroms, starts, strict=True)):
        if chrom not in chrom_sizes:
            raise ValueError(
                f"Region {i} ({_region_name(chrom, start, length)}) is on chromosome {chrom!r}, "
                f"which is not in chrom_sizes ({len(chrom_sizes)} chromosomes)."
            )
        if start < 0 or start + length > chrom_sizes[chrom]:
            raise ValueError(
                f"Region {i} ({_region_name(chrom, start, length)}) is outside chromosome "
                f"{chrom!r} (length {chrom_sizes[chrom]})."
            )
    return chroms, starts


def _chrom_intervals(chrom: str, starts, scores):
    """``(chrom, start, end, value)`` tuples of one chromosome, sorted and non-overlapping.

    Regions are sorted by start and grouped into runs whose union is contiguous; within a run,
    each base gets the mean of the regions covering it, rounded to float32 (what a bigWig stores),
    and consecutive bases with equal values become one interval.
    """
    length = scores.shape[1]
    order = np.argsort(starts, kind="stable")
    starts, scores = starts[order], scores[order]
    ends = starts + length
    # A run ends where a region starts after every earlier region has ended.
    reach = np.maximum.accumulate(ends)
    breaks = np.flatnonzero(starts[1:] > reach[:-1]) + 1
    for group in np.split(np.arange(len(starts)), breaks):
        first, last = int(starts[group[0]]), int(reach[group[-1]])
        total = np.zeros(last - first, dtype=np.float64)
        count = np.zeros(last - first, dtype=np.int64)
        for i in group:
            offset = int(starts[i]) - first
            total[offset : offset + length] += scores[i]
            count[offset : offset + length] += 1
        values = (total / count).astype(np.float32)
        change = np.flatnonzero(values[1:] != values[:-1]) + 1
        bounds = np.concatenate([[0], change, [len(values)]])
        for lo, hi, value in zip(
            (bounds[:-1] + first).tolist(),
            (bounds[1:] + first).tolist(),
            values[bounds[:-1]].tolist(),
            strict=True,
        ):
            yield chrom, lo, hi, value


def write_bigwig(path, chrom_sizes: dict[str, int], chroms, starts, scores) -> None:
    """Write per-base scores of genomic regions as a bigWig track, averaging overlaps.

    Parameters
    ----------
    path : path-like
        Destination; the name must end in ``.bw``, ``.bigWig`` or ``.bigwig`` (``pybigtools``
        chooses the format by suffix, case-sensitively).
    chrom_sizes : dict of str to int
        Chromosome lengths, in the order the chromosomes are written. As with UCSC's
        ``bedGraphToBigWig``, only chromosomes with at least one region are listed in the file's
        header (``pybigtools.open(path).chroms()``).
    chroms : sequence of str, length N
        Chromosome of each region.
    starts : array of int, shape (N,)
        0-based start of each region; region ``i`` covers ``[starts[i], starts[i] + L)``.
    scores : array of float, shape (N, L)
        Per-base scores of the regions, e.g. attributions summed over bases or per-base
        predictions of tiled windows.

    Notes
    -----
    Where regions overlap, each base gets the mean of the scores of the regions covering it
    (sum / count); bases covered by no region are absent from the file (read back as NaN by
    ``pybigtools``' ``values(..., fillna=None)``). Values are stored as float32, as in every
    bigWig, and runs of bases with equal float32 values are stored as one interval.

    Raises
    ------
    ValueError
        If the path does not end in ``.bw``, ``.bigWig`` or ``.bigwig``, there are no regions, shapes disagree,
        a score is NaN or infinite, or a region is on a chromosome not in ``chrom_sizes`` or runs
        past its end (the message names the region).
    RuntimeError
        If ``pybigtools`` did not produce a readable file (it reports write errors on stderr
        instead of raising them, so the file is opened and checked before it is renamed).
    """
    import pybigtools

    if Path(path).suffix not in _BIGWIG_SUFFIXES:
        raise ValueError(f"A bigWig path must end in .bw, .bigWig or .bigwig, got {str(path)!r}.")
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, L), got {scores.shape}.")
    n, length = scores.shape
    if len(chroms) != n:
        raise ValueError(f"chroms has {len(chroms)} entries but scores has {n} rows.")
    if n == 0 or length == 0:
        raise ValueError(f"No scores to write (scores has shape {scores.shape}).")
    if not np.issubdtype(scores.dtype, np.number) or np.issubdtype(
        scores.dtype, np.complexfloating
    ):
        raise ValueError(f"scores must be real numbers, got dtype {scores.dtype}.")
    if not np.isfinite(scores).all():
        row, col = np.argwhere(~np.isfinite(scores))[0]
        raise ValueError(
            f"scores hold NaN or infinite values ({np.count_nonzero(~np.isfinite(scores))} in "
            f"all; the first is {scores[row, col]} at row {row}, position {col}); a bigWig cannot "
            "store them (leave uncovered bases out instead)."
        )
    sizes = {str(c): int(s) for c, s in chrom_sizes.items()}
    chroms, starts = _check_regions(sizes, chroms, starts, length)

    used = set(chroms.tolist())
    expected = {c: s for c, s in sizes.items() if c in used}
    failure: list[Exception] = []

    def intervals():
        try:
            for chrom in expected:
                rows = np.flatnonzero(chroms == chrom)
                yield from _chrom_intervals(chrom, starts[rows], scores[rows])
        except Exception as err:  # pybigtools would print it and carry on
            failure.append(err)
            raise

    with atomic_path(path) as tmp:
        pybigtools.open(str(tmp), "w").write(sizes, intervals())
        if failure:
            raise failure[0]
        try:
            with pybigtools.open(str(tmp)) as check:
                written = check.chroms()
        except Exception as err:
            raise RuntimeError(
                f"pybigtools did not write a readable bigWig for {path} (see its message on "
                "stderr)."
            ) from err
        if written != expected:
            raise RuntimeError(
                f"The bigWig written for {path} lists chromosomes {written}, expected {expected}."
            )


# --------------------------------------------------------------------------------------------
# modisco-lite


def _write_npz(path, array: np.ndarray) -> None:
    """``np.savez_compressed(path, array)`` (one member, ``arr_0``), atomically and reproducibly.

    The zip entry carries a fixed timestamp (1980-01-01), so the same array gives byte-identical
    files; the member is a deflated version 1.0 ``.npy`` file, as ``numpy`` writes it.
    """
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    info = zipfile.ZipInfo("arr_0.npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
            archive.writestr(info, buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED)


def write_modisco_inputs(folder, codes, hypothetical) -> tuple[Path, Path]:
    """Write one-hot sequences and hypothetical contributions for ``modisco motifs``.

    Parameters
    ----------
    folder : path-like
        Directory for ``ohe.npz`` and ``shap.npz`` (created if missing).
    codes : array of uint8, shape (N, L)
        Sequences as codes ``A=0 C=1 G=2 T=3 N=4`` (see :mod:`sfcrepro.data.sequences`).
    hypothetical : array of float, shape (N, L, 4)
        Hypothetical contribution scores, bases in A, C, G, T order.

    Returns
    -------
    ohe, shap : Path
        ``folder / "ohe.npz"`` and ``folder / "shap.npz"``.

    Notes
    -----
    The modisco-lite 3 command line reads each file with ``numpy.load`` and takes its ``"arr_0"`` member as
    ``(N, 4, L)`` (sequence, base, position), cuts the central ``window`` positions from the last
    axis and transposes to the ``(N, L, 4)`` layout ``TFMoDISco`` works on
    (``modiscolite/cli.py``, ``motifs``). Both arrays are therefore written as float32
    ``(N, 4, L)``, the transposes of ``one_hot(codes)`` (N is all zeros) and ``hypothetical``.
    Pass ``-w L`` (``--window``; default 400) to use whole sequences of even length ``L``; the
    command keeps positions ``[L//2 - w//2, L//2 + w//2)``, so an odd ``L`` loses its last base,
    and a window longer than ``L`` is an error. The archives hold one member, ``arr_0.npy``, and
    have fixed timestamps, so the same inputs give byte-identical files.

    Raises
    ------
    ValueError
        If the shapes disagree, a code is not in 0-4, or a contribution is NaN or infinite.
    """
    codes = np.asarray(codes)
    hypothetical = np.asarray(hypothetical)
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (N, L), got {codes.shape}.")
    if hypothetical.shape != (*codes.shape, 4):
        raise ValueError(
            f"hypothetical must have shape (N, L, 4) = {(*codes.shape, 4)} to match codes, "
            f"got {hypothetical.shape}."
        )
    if codes.size and (
        not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0 or codes.max() > N_CODE
    ):
        raise ValueError("codes must be integers 0-4 (A C G T N).")
    if not np.isfinite(hypothetical).all():
        raise ValueError("hypothetical contributions hold NaN or infinite values.")
    folder = Path(folder)
    ohe_path, shap_path = folder / "ohe.npz", folder / "shap.npz"
    _write_npz(ohe_path, one_hot(codes.astype(np.uint8), np.float32).transpose(0, 2, 1))
    _write_npz(shap_path, hypothetical.astype(np.float32).transpose(0, 2, 1))
    return ohe_path, shap_path


# --------------------------------------------------------------------------------------------
# BED


def _column(name: str, values, n: int) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (n,):
        raise ValueError(f"Column {name!r} must have shape ({n},), got {values.shape}.")
    return values


def _check_text(kind: str, values) -> None:
    for i, value in enumerate(values):
        if not value or any(ch in value for ch in "\t\n\r"):
            raise ValueError(f"{kind} {i} ({value!r}) is empty or holds a tab or newline.")


def write_prediction_bed(
    path,
    chroms,
    starts,
    ends,
    predictions: Mapping[str, Sequence[float]],
    labels: Mapping[str, Sequence] | None = None,
    name: Sequence[str] | None = None,
    *,
    float_format: str | None = None,
) -> None:
    """Write regions with their predictions (and labels) as a BED-like tab-separated table.

    Parameters
    ----------
    path : path-like
        Destination. A name ending in ``.gz`` is gzip-compressed with mtime 0 and no file name
        in the gzip header, so the same table gives byte-identical files (as
        :func:`sfcrepro.data.io.write_tsv`).
    chroms : sequence of str, length N
        Chromosome of each region.
    starts, ends : array of int, shape (N,)
        0-based, half-open coordinates ``[start, end)`` (BED convention).
    predictions : dict of str to array, shape (N,)
        One column per entry, in the dict's order, e.g. ``{"CTCF_seed0": p0, "CTCF_seed1": p1}``.
    labels : dict of str to array, shape (N,), optional
        Label columns, written after the predictions, e.g. ``{"CTCF": y}``.
    name : sequence of str, length N, optional
        Name column (BED field 4); default ``region0``, ``region1``, ...
    float_format : str, optional
        Format of float columns, e.g. ``"%.6g"``; default: full precision.

    Notes
    -----
    Layout: a header line ``#chrom<TAB>start<TAB>end<TAB>name<TAB><prediction columns>...
    <label columns>...``, then one row per region **in the order given** (not sorted; sort the
    regions first, or run ``pybedtools.BedTool(path).sort()``, if a tool needs sorted input).
    BED field 5, where BED keeps the score, is the first prediction. Missing (NaN) values are
    written as ``NA``.

    Reading back: ``pybedtools.BedTool(path)`` and bedtools skip the ``#`` header line (gzip or
    plain). With pandas, ``pd.read_csv(path, sep="\\t")`` (the default ``comment=None``; do
    not pass ``comment="#"``, which would drop the header) gives the columns, the first named
    ``#chrom``: add ``.rename(columns={"#chrom": "chrom"})``. Compression is inferred from the
    ``.gz`` suffix, and ``NA`` is read as NaN.

    Raises
    ------
    ValueError
        If there are no prediction columns, a column has the wrong length, column names repeat
        or are ``chrom``, ``start``, ``end``, ``name``, a coordinate is negative or has
        ``end < start``, or a chromosome or name is empty or holds a tab or newline.
    """
    n = len(chroms)
    chroms = [str(c) for c in chroms]
    names = [f"region{i}" for i in range(n)] if name is None else [str(x) for x in name]
    if len(names) != n:
        raise ValueError(f"name has {len(names)} entries, expected {n} (one per region).")
    _check_text("Chromosome", chroms)
    _check_text("Name", names)
    starts, ends = _column("start", starts, n), _column("end", ends, n)
    for label, values in (("start", starts), ("end", ends)):
        if n and not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{label} must be integers, got dtype {values.dtype}.")
    bad = np.flatnonzero((starts < 0) | (ends < starts))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"Region {i} ({chroms[i]}:{starts[i]}-{ends[i]}) has a negative start or ends "
            "before it starts."
        )
    if not predictions:
        raise ValueError("At least one prediction column is needed.")
    columns = {"#chrom": chroms, "start": starts, "end": ends, "name": names}
    extra = [*predictions, *(labels or {})]
    taken = {"chrom", "#chrom", "start", "end", "name"}
    for column in extra:
        if not isinstance(column, str) or not column or any(ch in column for ch in "\t\n\r"):
            raise ValueError(f"Column name {column!r} is empty, not a string, or holds a tab.")
        if column in taken:
            raise ValueError(f"Column name {column!r} is used twice (or is a BED column).")
        taken.add(column)
    for column, values in {**predictions, **(labels or {})}.items():
        columns[column] = _column(column, values, n)
    frame = pd.DataFrame(columns)

    write_tsv(frame, path, float_format=float_format, na_rep="NA")
