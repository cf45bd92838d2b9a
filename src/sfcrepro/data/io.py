"""Reading and writing files: atomic writes, gzip-aware reading, reproducible TSV tables.

Every file the pipeline writes goes through :func:`atomic_path` (written to a temporary name,
renamed when complete), so a crash never leaves a file that looks finished. Tables are written
by :func:`write_tsv`, whose gzip output carries no timestamp and no file name, so the same
table gives the same bytes in every run.
"""

from __future__ import annotations

import glob
import gzip
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "is_gzip", "open_text", "read_h5", "write_h5", "write_tsv"]


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` only if the block succeeds.

    The temporary file is ``.<stem>.tmp-<pid><suffix>`` in the same directory, so the rename is
    atomic: ``path`` is either absent or complete, even if the process is killed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A process killed while writing leaves its temporary file; the next writer of ``path`` (one
    # at a time: Snakemake runs one job per output) removes such leftovers first.
    for stale in path.parent.glob(f".{glob.escape(path.stem)}.tmp-*{glob.escape(path.suffix)}"):
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")  # keeps the suffix
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def is_gzip(path) -> bool:
    """Whether a file is gzip-compressed (by its first two bytes)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_text(path):
    """Open a text file for reading, gunzipping it when it is gzip-compressed (by content)."""
    return gzip.open(path, "rt") if is_gzip(path) else open(path)


def write_tsv(frame, path, float_format: str | None = None, na_rep: str = "") -> None:
    """Write a DataFrame as a tab-separated table with a header and no index, atomically.

    A path ending in ``.gz`` is gzip-compressed with mtime 0 and no file name in the header, so
    the same table gives byte-identical files. ``float_format`` and ``na_rep`` are passed to
    :meth:`pandas.DataFrame.to_csv` (e.g. ``"%.6g"``; None: full precision; missing values as
    ``na_rep``, default empty).
    """
    options = {"sep": "\t", "index": False, "float_format": float_format, "na_rep": na_rep}
    with atomic_path(path) as tmp:
        if Path(path).suffix == ".gz":
            with open(tmp, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
                frame.to_csv(out, **options)
        else:
            frame.to_csv(tmp, **options)


def write_h5(path, arrays: dict, attrs: dict | None = None) -> None:
    """Write named arrays (gzip-compressed) and file attributes to an h5 file, atomically."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as out:
        for name, values in arrays.items():
            values = np.asarray(values)
            out.create_dataset(
                name,
                data=values,
                **({"compression": "gzip", "shuffle": True} if values.ndim else {}),
            )
        out.attrs.update(attrs or {})


def read_h5(path) -> dict:
    """Every array and file attribute of an h5 file written by :func:`write_h5`, as one dict."""
    import h5py

    with h5py.File(path, "r") as f:
        found = {key: f[key][()] for key in f}
        found.update(f.attrs.items())
    return found
