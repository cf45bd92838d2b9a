"""Per-position importance: gradient x input, summed over sequences.

For one task, the gradient of the task's logit (the pre-sigmoid output, layer ``logits``) with
respect to the one-hot input, times the input, summed over the four channels, gives one score
per position and sequence (Shrikumar et al. 2017a); summing over sequences gives the
per-position curves of the paper's Figure 4. Works under the TensorFlow, torch and JAX backends.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import pandas as pd

from sfcrepro.data.sequences import one_hot
from sfcrepro.explain.attribution import gradients, logit_model

__all__ = [
    "gradient_x_input",
    "importance_scores",
    "importance_table",
    "input_gradients",
    "logit_model",
    "sample_rows",
    "smoothness_score",
    "symmetry_score",
]

log = logging.getLogger("sfcrepro.explain.importance")


def input_gradients(model: keras.Model, x: np.ndarray, task: int) -> np.ndarray:
    """Gradient of ``sum(model(x)[:, task])`` with respect to ``x``, as numpy, on any backend."""
    return gradients(lambda t: model(t, training=False)[:, task], x)


def gradient_x_input(model: keras.Model, sequences, task: int, batch_size: int = 500) -> np.ndarray:
    """Per-position gradient x input for one task, summed over sequences: the Figure 4 curve.

    ``sequences`` are uint8 codes ``(N, L)`` (an array or an h5 dataset), one-hot encoded batch by
    batch, so a split of any size fits; ``model``, ``task`` and ``batch_size`` as in
    :func:`sfcrepro.explain.attribution.gradient_x_input`, which gives the per-base scores of each
    sequence. Returns ``sum_n sum_c grad[n, l, c] * x[n, l, c]``, float64 of shape ``(L,)``.
    """
    logits = logit_model(model)
    if not 0 <= task < logits.output.shape[-1]:
        raise ValueError(f"Task index {task} is out of range for {logits.output.shape[-1]} tasks.")
    total = np.zeros(np.asarray(sequences[:1]).shape[1], dtype=np.float64)
    for start in range(0, len(sequences), batch_size):
        x = one_hot(np.asarray(sequences[start : start + batch_size]))
        total += (input_gradients(logits, x, task) * x).sum(axis=(0, 2))
    return total


def symmetry_score(curve: np.ndarray) -> float:
    """Pearson correlation of a per-position curve with its mirror image (1 = symmetric)."""
    curve = np.asarray(curve, dtype=np.float64)
    if curve.std() == 0:
        return float("nan")
    return float(np.corrcoef(curve, curve[::-1])[0, 1])


def smoothness_score(curve: np.ndarray) -> float:
    """Mean absolute second difference of a per-position curve (0 = a straight line; lower is smoother).

    In the curve's own units: compare variants on curves of the same kind (e.g. mean gradient x
    input over the same sequences).
    """
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) < 3:
        return float("nan")
    return float(np.mean(np.abs(np.diff(curve, n=2))))


def sample_rows(n_rows: int, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` of ``n_rows`` rows drawn without replacement (all when ``n`` is None
    or at least ``n_rows``), the same for the same seed."""
    if n is None or n >= n_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=n, replace=False))


def importance_scores(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per variant: seed, task, sequences, symmetry and smoothness of its mean importance curve."""
    rows = []
    for variant, table in tables.items():
        curve = table["importance_mean"].to_numpy()
        rows.append(
            {
                "variant": variant,
                "seed": int(table["seed"].iloc[0]),
                "task": table["task"].iloc[0],
                "n_sequences": int(table["n_sequences"].iloc[0]),
                "symmetry": symmetry_score(curve),
                "smoothness": smoothness_score(curve),
            }
        )
    return pd.DataFrame(rows)


def importance_table(curve: np.ndarray, n_sequences: int, **columns) -> pd.DataFrame:
    """A tidy table of one curve: position, sum, mean over sequences, plus constant columns."""
    table = pd.DataFrame({key: [value] * len(curve) for key, value in columns.items()})
    table["position"] = np.arange(len(curve))
    table["importance_sum"] = curve
    table["importance_mean"] = curve / max(n_sequences, 1)
    table["n_sequences"] = n_sequences
    return table
