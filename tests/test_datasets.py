"""Tests of the HDF5 dataset files (sfcrepro.datasets)."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from sfcrepro.datasets import read_dataset, read_table, write_dataset
from sfcrepro.io import atomic_path


def sample(n=5, length=8, tasks=2, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 5, (n, length)).astype(np.uint8),
        rng.integers(0, 2, (n, tasks)).astype(np.uint8),
        [f"task{i}" for i in range(tasks)],
    )


def test_round_trip_with_table(tmp_path):
    seqs, labels, tasks = sample()
    table = pd.DataFrame({"index": [0, 3], "motif": ["GATA_disc1", "TAL1_known1"], "start": [4, 1]})
    path = tmp_path / "d" / "train.h5"
    write_dataset(path, seqs, labels, tasks, tables={"motifs": table}, attrs={"seed": 3})
    got_seqs, got_labels, got_tasks = read_dataset(path)
    np.testing.assert_array_equal(got_seqs, seqs)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_tasks == tasks and got_seqs.dtype == np.uint8
    pd.testing.assert_frame_equal(read_table(path, "motifs"), table)
    lazy_seqs, _, _ = read_dataset(path, load=False)
    np.testing.assert_array_equal(lazy_seqs[1:3], seqs[1:3])


def test_same_content_gives_identical_bytes(tmp_path):
    seqs, labels, tasks = sample()
    digests = []
    for name in ("a.h5", "b.h5"):
        write_dataset(tmp_path / name, seqs, labels, tasks)
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "x.h5"
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_shape_and_dtype_checks(tmp_path):
    seqs, labels, tasks = sample()
    with pytest.raises(ValueError, match="uint8"):
        write_dataset(tmp_path / "x.h5", seqs.astype(np.int64), labels, tasks)
    with pytest.raises(ValueError, match="labels must be"):
        write_dataset(tmp_path / "x.h5", seqs, labels, tasks + ["extra"])
    assert not (tmp_path / "x.h5").exists()
