"""Positional weights of SFC layers, prepared for the paper's Figure 5.

Figure 5 shows ``W_pos`` of the hematopoiesis models at increasing curvature regularisation: one
row per SFC unit, each row sign-canonicalised (see :func:`canonical_signs`) and divided by its
mean absolute value (unit magnitude, so that the shape, not the sign or the scale, is compared),
rows grouped by k-means clusters (k = 10, seeded).
"""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_signs", "cluster_order", "normalise_rows", "positional_kernel"]


def positional_kernel(model) -> np.ndarray:
    """``(units, L)`` positional weights of the model's SFC layer (mirrored out when symmetric)."""
    import keras

    from sfcrepro.network.layers import SeparableFC

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, SeparableFC)]
    if len(layers) != 1:
        raise ValueError(
            f"Model {model.name!r} has {len(layers)} SFC layers; expected one (a sep or symm head)."
        )
    return np.asarray(
        keras.ops.convert_to_numpy(layers[0].full_positional_kernel()), dtype=np.float64
    )


def canonical_signs(matrix: np.ndarray) -> np.ndarray:
    """Each row multiplied by -1 or +1 so that its entry of largest magnitude is positive.

    The sign of a unit's positional weights is arbitrary: negating ``W_pos[o]`` and
    ``W_chan[o]`` together leaves the layer's output unchanged, so a row and its negation are
    the same unit. Fixing the sign makes mirror-image rows equal before they are compared or
    clustered. The rule uses the largest-magnitude entry (the first of equal magnitudes, at
    1e-9 relative tolerance) rather than the row sum, because the sum of a row that oscillates
    around zero is near 0 and its sign would be decided by noise. Rows of zeros stay zero.

    Parameters
    ----------
    matrix : array-like, shape (units, L)
        One row per SFC unit.

    Returns
    -------
    numpy.ndarray
        ``matrix`` (float64) with every row's largest-magnitude entry >= 0.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    magnitude = np.abs(matrix)
    peak = (magnitude >= magnitude.max(axis=1, keepdims=True) * (1 - 1e-9)).argmax(axis=1)
    signs = np.where(matrix[np.arange(len(matrix)), peak] < 0, -1.0, 1.0)
    return matrix * signs[:, None]


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows as Figure 5 compares them: sign-canonicalised, then scaled to unit mean magnitude.

    Row ``w`` becomes ``s * w / mean(|w|)``, with ``s`` = +1 or -1 chosen so that the entry
    of largest magnitude is positive (:func:`canonical_signs`); a row and its negation therefore
    give the same normalised row. Rows of zeros stay zero.

    Parameters
    ----------
    matrix : array-like, shape (units, L)

    Returns
    -------
    numpy.ndarray
        Normalised rows (float64), each with mean absolute value 1 (or all zero).
    """
    matrix = canonical_signs(matrix)
    scale = np.abs(matrix).mean(axis=1, keepdims=True)
    return np.divide(matrix, scale, out=np.zeros_like(matrix), where=scale > 0)


def cluster_order(
    matrix: np.ndarray, clusters: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Row order grouping k-means clusters, and each row's cluster in that order.

    Clusters are numbered by the position of their centre's largest absolute weight (left to
    right), and rows within a cluster by their distance to the centre, so the order depends only
    on the data and the seed.
    """
    from sklearn.cluster import KMeans

    matrix = np.asarray(matrix, dtype=np.float64)
    k = min(clusters, len(matrix))
    fit = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(matrix)
    rank = np.argsort(
        np.argsort(np.abs(fit.cluster_centers_).argmax(axis=1), kind="stable"), kind="stable"
    )
    labels = rank[fit.labels_]
    distance = np.linalg.norm(matrix - fit.cluster_centers_[fit.labels_], axis=1)
    order = np.lexsort((distance, labels))
    return order, labels[order]
