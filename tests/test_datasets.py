"""Tests of the HDF5 dataset files (sfcrepro.data.datasets)."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from sfcrepro.data.datasets import read_dataset, read_table, write_dataset
from sfcrepro.data.io import atomic_path


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


def test_nested_subset_is_stratified_nested_and_whole_at_full_size():
    from sfcrepro.data.datasets import nested_subset

    rng = np.random.default_rng(1)
    labels = np.repeat(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.uint8), 50, axis=0)
    labels = labels[rng.permutation(len(labels))]  # classes interleaved, as in a real split
    subsets = {n: nested_subset(labels, n, seed=3) for n in (5, 20, 50)}
    for n, kept in subsets.items():
        assert np.all(np.diff(kept) > 0)  # sorted: the file's order
        _, counts = np.unique(labels[kept], axis=0, return_counts=True)
        assert counts.tolist() == [n] * 4  # n of each class
    assert set(subsets[5]) < set(subsets[20]) < set(subsets[50])
    np.testing.assert_array_equal(subsets[50], np.arange(200))  # the whole split, in order
    assert not np.array_equal(nested_subset(labels, 5, seed=4), subsets[5])  # seeded
    np.testing.assert_array_equal(nested_subset(labels, 5, seed=3), subsets[5])
    with pytest.raises(
        ValueError, match=r"51 sequences per class asked.*has 50.*up to the smallest"
    ):
        nested_subset(labels, 51, seed=0)
