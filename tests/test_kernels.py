"""sfcrepro.network.kernels: positional weights of a model's SFC layer, row normalisation, clustering."""

import numpy as np
import pytest

from sfcrepro.network.kernels import (
    canonical_signs,
    cluster_order,
    normalise_rows,
    positional_kernel,
)
from sfcrepro.network.models import build_model


def test_positional_kernel_of_a_symmetric_head_is_mirrored():
    model = build_model("simulated_tf", head="symm", length=60, tasks=3, units=5)
    kernel = positional_kernel(model)
    assert kernel.shape[0] == 5
    np.testing.assert_allclose(kernel, kernel[:, ::-1])
    with pytest.raises(ValueError, match="0 SFC layers"):
        positional_kernel(build_model("simulated_tf", head="std", length=60, tasks=3))


def test_normalise_rows_gives_unit_mean_magnitude():
    rows = normalise_rows(np.array([[1.0, -3.0], [0.0, 0.0], [2.0, 2.0]]))
    # [1, -3]: its largest-magnitude entry (-3) is made positive, then the row is scaled.
    np.testing.assert_allclose(rows, [[-0.5, 1.5], [0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(np.abs(rows[[0, 2]]).mean(axis=1), 1.0)


def test_a_row_and_its_negation_normalise_and_cluster_alike():
    # A unit's sign is arbitrary (negating W_pos[o] and W_chan[o] gives the same model): rows and
    # their negations must give identical normalised rows and fall in the same cluster.
    rng = np.random.default_rng(1)
    left = np.r_[np.linspace(1, 0, 6), np.zeros(14)]
    right = left[::-1]
    rows = np.vstack(
        [left + 0.05 * rng.normal(size=20) for _ in range(4)]
        + [right + 0.05 * rng.normal(size=20) for _ in range(4)]
    )
    rows *= rng.uniform(0.5, 2.0, size=(8, 1))
    both = np.vstack([rows, -rows])
    normalised = normalise_rows(both)
    np.testing.assert_allclose(normalised[:8], normalised[8:])
    np.testing.assert_array_equal(
        canonical_signs([[1.0, -1.0], [-1.0, 1.0]]), [[1, -1], [1, -1]]
    )  # ties: first
    order, clusters = cluster_order(normalised, clusters=2, seed=0)
    cluster_of = np.empty(16, dtype=int)
    cluster_of[order] = clusters
    np.testing.assert_array_equal(cluster_of[:8], cluster_of[8:])  # each row with its negation
    assert (
        len(set(cluster_of[:4])) == 1
        and len(set(cluster_of[4:8])) == 1
        and cluster_of[0] != cluster_of[4]
    )


def test_cluster_order_groups_similar_rows_and_is_seeded():
    rng = np.random.default_rng(0)
    left = np.r_[np.ones(5), np.zeros(15)]  # weight on the left positions
    right = left[::-1]
    matrix = np.vstack(
        [right + 0.05 * rng.normal(size=20) for _ in range(4)]
        + [left + 0.05 * rng.normal(size=20) for _ in range(3)]
    )
    order, clusters = cluster_order(matrix, clusters=2, seed=0)
    # Clusters are numbered left to right by their centre's peak: the "left" rows (4-6) come first.
    assert sorted(order[:3].tolist()) == [4, 5, 6] and sorted(order[3:].tolist()) == [0, 1, 2, 3]
    assert clusters.tolist() == [0, 0, 0, 1, 1, 1, 1]
    again = cluster_order(matrix, clusters=2, seed=0)
    np.testing.assert_array_equal(again[0], order)
    assert len(cluster_order(matrix[:2], clusters=10)[0]) == 2  # fewer rows than clusters
