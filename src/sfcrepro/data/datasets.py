"""Dataset files: one HDF5 file per split.

Layout of ``results/datasets/{dataset}/{split}.h5``:

``sequences``
    ``uint8 (N, L)``, codes ``A=0 C=1 G=2 T=3 N=4`` (see :mod:`sfcrepro.data.sequences`).
``labels``
    ``uint8 (N, T)``, 0/1 per task.
attribute ``tasks``
    The ``T`` task names, in label-column order.
group ``tables/<name>``
    Optional per-record tables, one 1-d dataset per column (strings as UTF-8), e.g.
    ``tables/motifs`` for simulated data (simulated TF binding: sequence index, motif name, start;
    simulated accessibility: index, tf, motif, start, end, strand) and ``tables/regions``
    (chrom, start, end) for genome-derived data.

Files are written to a temporary name and renamed when complete
(:func:`sfcrepro.data.io.atomic_path`), so a crash never leaves a file that looks finished. Object
timestamps are not stored, so the same content gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from sfcrepro.data.io import atomic_path

__all__ = ["DatasetWriter", "nested_subset", "read_dataset", "read_table", "write_dataset"]

_STR = h5py.string_dtype("utf-8")


class DatasetWriter:
    """Write a split incrementally, e.g. one chromosome at a time.

    Use as a context manager: rows are appended to a temporary file, which is renamed to ``path``
    when the block ends without an exception and removed otherwise.

    Parameters
    ----------
    path : path-like
        Destination ``.h5`` file.
    length : int
        Sequence length ``L``.
    tasks : sequence of str
        Task names (label columns).
    attrs : dict, optional
        Extra scalar attributes.
    """

    def __init__(self, path, length: int, tasks, attrs=None):
        self.path = Path(path)
        self.length, self.tasks = int(length), [str(t) for t in tasks]
        self.attrs = attrs or {}
        self.rows = 0

    def __enter__(self):
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self.h5 = h5py.File(tmp, "w")
        chunk = (4096, self.length)
        for name, width in (("sequences", self.length), ("labels", len(self.tasks))):
            self.h5.create_dataset(
                name,
                shape=(0, width),
                maxshape=(None, width),
                dtype=np.uint8,
                chunks=(chunk[0], max(width, 1)),
                compression="gzip",
                compression_opts=1,
                track_times=False,
            )
        self.h5.attrs["tasks"] = np.array(self.tasks, dtype=_STR)
        for key, value in self.attrs.items():
            self.h5.attrs[key] = value
        return self

    def append(
        self,
        sequences,
        labels,
        table: dict | pd.DataFrame | None = None,
        table_name: str = "regions",
    ):
        """Append rows (and their per-row table entries, if any)."""
        sequences, labels = np.asarray(sequences), np.asarray(labels)
        if sequences.dtype != np.uint8 or sequences.ndim != 2 or sequences.shape[1] != self.length:
            raise ValueError(
                f"sequences must be uint8 (N, {self.length}), got {sequences.dtype} {sequences.shape}"
            )
        if labels.shape != (len(sequences), len(self.tasks)):
            raise ValueError(
                f"labels must be (N={len(sequences)}, T={len(self.tasks)}), got {labels.shape}"
            )
        for name, data in (("sequences", sequences), ("labels", labels.astype(np.uint8))):
            _extend(self.h5[name], data)
        self.rows += len(sequences)
        if table is not None:
            self.append_table(table_name, table)

    def append_table(self, name: str, table: dict | pd.DataFrame):
        """Append rows to ``tables/<name>`` (created on first use; columns in the given order)."""
        group = self.h5.require_group(f"tables/{name}")
        if "columns" not in group.attrs:
            group.attrs["columns"] = np.array(list(table.keys()), dtype=_STR)
        for column, values in table.items():
            values = np.asarray(values)
            if values.dtype.kind in "OUS":
                values = values.astype(object).astype(str).astype(_STR)
            if column not in group:
                group.create_dataset(
                    column,
                    shape=(0,),
                    maxshape=(None,),
                    dtype=values.dtype,
                    chunks=(65536,),
                    compression="gzip",
                    compression_opts=1,
                    track_times=False,
                )
            _extend(group[column], values)

    def __exit__(self, kind, value, traceback):
        self.h5.close()
        return self._atomic.__exit__(kind, value, traceback)


def _extend(dataset, data):
    start = dataset.shape[0]
    dataset.resize(start + len(data), axis=0)
    if len(data):
        dataset[start:] = data


def write_dataset(path, sequences, labels, tasks, tables=None, attrs=None) -> None:
    """Write one split at once (see :class:`DatasetWriter`).

    Parameters
    ----------
    path : path-like
        Destination ``.h5`` file.
    sequences : ndarray of uint8, shape (N, L)
    labels : ndarray of uint8, shape (N, T)
    tasks : sequence of str
        ``T`` task names.
    tables : dict of str to DataFrame or dict of arrays, optional
        Extra tables, stored under ``tables/<name>``.
    attrs : dict, optional
        Extra scalar attributes (seed, source, ...).
    """
    sequences = np.asarray(sequences)
    if sequences.dtype != np.uint8 or sequences.ndim != 2:
        raise ValueError(f"sequences must be uint8 (N, L), got {sequences.dtype} {sequences.shape}")
    with DatasetWriter(path, sequences.shape[1], tasks, attrs) as writer:
        writer.append(sequences, labels)
        for name, table in (tables or {}).items():
            writer.append_table(name, table)


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
        order = [str(c) for c in group.attrs.get("columns", list(group))]
        columns = {}
        for column in order:
            values = group[column][:]
            if values.dtype.kind == "O":
                values = values.astype(str)
            columns[column] = values
        return pd.DataFrame(columns)


def nested_subset(labels, per_class: int, seed: int) -> np.ndarray:
    """Indices of a class-stratified training subset, nested across sizes.

    A class is a distinct label row (for two tasks: 00, 01, 10, 11). Each class's indices are
    permuted with one generator seeded by ``seed`` and the first ``per_class`` are kept, so with
    the same seed the subset of a smaller size is contained in that of a larger one and sizes
    differ only in size. The indices are returned sorted (the file's order): a size that covers
    every class is the whole split, in its own order.

    Parameters
    ----------
    labels : array, shape (N, T)
        The split's 0/1 labels.
    per_class : int
        Sequences kept per class.
    seed : int
        Seed of the permutations (the training seed).

    Raises
    ------
    ValueError
        When a class has fewer than ``per_class`` sequences.
    """
    labels = np.asarray(labels)
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, not {per_class}.")
    classes, inverse = np.unique(labels, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    rng = np.random.default_rng(seed)
    kept = []
    for code, row in enumerate(classes):
        members = np.flatnonzero(inverse == code)
        if len(members) < per_class:
            raise ValueError(
                f"{per_class} sequences per class asked, but the class with labels "
                f"{row.tolist()} has {len(members)}: choose sizes up to the smallest class "
                f"({min(np.bincount(inverse))})."
            )
        kept.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(kept))
