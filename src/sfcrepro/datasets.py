"""Dataset files: one HDF5 file per split.

Layout of ``results/datasets/{dataset}/{split}.h5``:

``sequences``
    ``uint8 (N, L)``, codes ``A=0 C=1 G=2 T=3 N=4`` (see :mod:`sfcrepro.sequences`).
``labels``
    ``uint8 (N, T)``, 0/1 per task.
attribute ``tasks``
    The ``T`` task names, in label-column order.
group ``tables/<name>``
    Optional per-record tables, one 1-d dataset per column (strings as UTF-8), e.g.
    ``tables/motifs`` (sequence index, motif name, start) for simulated data or
    ``tables/regions`` (chrom, start, end) for genome-derived data.

Files are written to a temporary name and renamed when complete, so a crash never leaves a
file that looks finished. Object timestamps are not stored, so the same content gives
byte-identical files.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

__all__ = ["atomic_path", "read_dataset", "read_table", "write_dataset"]

_STR = h5py.string_dtype("utf-8")


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")  # keeps the suffix
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_dataset(path, sequences, labels, tasks, tables=None, attrs=None) -> None:
    """Write one split atomically.

    Parameters
    ----------
    path : path-like
        Destination ``.h5`` file.
    sequences : ndarray of uint8, shape (N, L)
    labels : ndarray of uint8, shape (N, T)
    tasks : sequence of str
        ``T`` task names.
    tables : dict of str to DataFrame or dict of arrays, optional
        Extra per-record tables, stored under ``tables/<name>``.
    attrs : dict, optional
        Extra scalar attributes (seed, source, ...).
    """
    sequences = np.asarray(sequences)
    labels = np.asarray(labels)
    tasks = [str(t) for t in tasks]
    if sequences.dtype != np.uint8 or sequences.ndim != 2:
        raise ValueError(f"sequences must be uint8 (N, L), got {sequences.dtype} {sequences.shape}")
    if labels.ndim != 2 or labels.shape != (sequences.shape[0], len(tasks)):
        raise ValueError(f"labels must be (N={sequences.shape[0]}, T={len(tasks)}), got {labels.shape}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        _dataset(h5, "sequences", sequences, chunk_rows=4096)
        _dataset(h5, "labels", labels.astype(np.uint8), chunk_rows=4096)
        h5.attrs["tasks"] = np.array(tasks, dtype=_STR)
        for key, value in (attrs or {}).items():
            h5.attrs[key] = value
        for name, table in (tables or {}).items():
            group = h5.create_group(f"tables/{name}", track_order=True)
            for column, values in table.items():  # dict of arrays or DataFrame
                values = np.asarray(values)
                if values.dtype.kind in "OUS":
                    values = values.astype(object).astype(str).astype(_STR)
                _dataset(group, column, values)


def _dataset(group, name, data, chunk_rows=None):
    kwargs = {"track_times": False}
    if data.size and chunk_rows:
        kwargs.update(chunks=(min(chunk_rows, data.shape[0]), *data.shape[1:]), compression="gzip",
                      compression_opts=1)
    group.create_dataset(name, data=data, **kwargs)


def read_dataset(path, load=True):
    """Read a split: ``(sequences, labels, tasks)``.

    With ``load=False`` the first two are the open ``h5py.Dataset`` objects (the file stays open
    until they are garbage-collected), for reading batches without loading the split.
    """
    h5 = h5py.File(path, "r")
    tasks = [t.decode() if isinstance(t, bytes) else str(t) for t in h5.attrs["tasks"]]
    if not load:
        return h5["sequences"], h5["labels"], tasks
    with h5:
        return h5["sequences"][:], h5["labels"][:], tasks


def read_table(path, name) -> pd.DataFrame:
    """Read ``tables/<name>`` of a split as a DataFrame."""
    with h5py.File(path, "r") as h5:
        if f"tables/{name}" not in h5:
            raise KeyError(f"{path} has no table {name!r}")
        group = h5[f"tables/{name}"]
        columns = {}
        for column in group:
            values = group[column][:]
            if values.dtype.kind == "O":
                values = values.astype(str)
            columns[column] = values
        return pd.DataFrame(columns)
