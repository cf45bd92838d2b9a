"""Positional weights of SFC layers, prepared for the paper's Figure 5.

Figure 5 shows ``W_pos`` of the hematopoiesis models at increasing curvature regularisation: one
row per SFC unit, each row divided by its mean absolute value (unit magnitude, so that the shape,
not the scale, is compared), rows grouped by k-means clusters (k = 10, seeded).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cluster_order", "normalise_rows", "positional_kernel"]


def positional_kernel(model) -> np.ndarray:
    """``(units, L)`` positional weights of the model's SFC layer (mirrored out when symmetric)."""
    import keras

    from sfcrepro.layers import SeparableFC

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, SeparableFC)]
    if len(layers) != 1:
        raise ValueError(f"Model {model.name!r} has {len(layers)} SFC layers; expected one (a sep or symm head).")
    return np.asarray(keras.ops.convert_to_numpy(layers[0].full_positional_kernel()), dtype=np.float64)


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its mean absolute value (rows of zeros stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    scale = np.abs(matrix).mean(axis=1, keepdims=True)
    return np.divide(matrix, scale, out=np.zeros_like(matrix), where=scale > 0)


def cluster_order(matrix: np.ndarray, clusters: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row order grouping k-means clusters, and each row's cluster in that order.

    Clusters are numbered by the position of their centre's largest absolute weight (left to
    right), and rows within a cluster by their distance to the centre, so the order depends only
    on the data and the seed.
    """
    from sklearn.cluster import KMeans

    matrix = np.asarray(matrix, dtype=np.float64)
    k = min(clusters, len(matrix))
    fit = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(matrix)
    rank = np.argsort(np.argsort(np.abs(fit.cluster_centers_).argmax(axis=1), kind="stable"), kind="stable")
    labels = rank[fit.labels_]
    distance = np.linalg.norm(matrix - fit.cluster_centers_[fit.labels_], axis=1)
    order = np.lexsort((distance, labels))
    return order, labels[order]
