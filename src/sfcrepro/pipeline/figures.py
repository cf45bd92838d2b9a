"""The paper's figures, drawn with matplotlib and saved as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sfcrepro.data.io import atomic_path  # noqa: E402
from sfcrepro.explain.discovery import BASES, Pattern  # noqa: E402
from sfcrepro.explain.importance import smoothness_score, symmetry_score  # noqa: E402
from sfcrepro.network.kernels import cluster_order, normalise_rows

__all__ = [
    "attribution_accuracy",
    "effect_sizes",
    "importance_curves",
    "importance_over_seeds",
    "learning_curves",
    "lr_robustness",
    "performance",
    "plot_logos",
    "positional_weights",
    "save",
    "training_size",
]

METRIC_LABELS = {"auroc": "auROC", "auprc": "auPRC"}
METRIC_COLORS = {"auroc": "#4C72B0", "auprc": "#DD8452"}
VARIANT_COLORS = ["#4C72B0", "#55A868", "#C44E52", "#8172B2", "#CCB974", "#64B5CD", "#8C8C8C"]


def save(fig, paths) -> None:
    """Save ``fig`` to each path (format from the suffix), atomically, and close it."""
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=Path(path).suffix.lstrip("."))
    plt.close(fig)


def _panel_grid(n: int, width: float = 4.2, height: float = 3.6):
    """Axes for ``n`` panels: one row up to three, then rows of two (no empty cell below four)."""
    cols = n if n <= 3 else 2
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def performance(summary: pd.DataFrame, titles: dict[str, str] | None = None, split: str = "valid"):
    """Figure 2: per dataset, median auROC and auPRC per variant, error bars min to max over seeds.

    Parameters
    ----------
    summary : DataFrame
        :func:`sfcrepro.pipeline.evaluate.summarize` output.
    titles : dict, optional
        Panel title per dataset (default: the dataset name), in panel order.
    split : str
        Which split's scores to plot (the paper: validation).
    """
    data = summary[summary["split"] == split]
    datasets = list(titles) if titles else list(dict.fromkeys(data["dataset"]))
    datasets = [d for d in datasets if d in set(data["dataset"])]
    if not datasets:
        raise ValueError(f"No {split} scores to plot.")
    fig, axes = _panel_grid(len(datasets), width=max(4.2, 1.1 * data["variant"].nunique() + 1.5))
    for ax, dataset in zip(axes, datasets, strict=False):
        rows = data[data["dataset"] == dataset]
        variants = list(dict.fromkeys(rows["variant"]))
        x = np.arange(len(variants))
        width = 0.38
        for i, metric in enumerate(("auroc", "auprc")):
            sub = rows[rows["metric"] == metric].set_index("variant").loc[variants]
            err = np.vstack([sub["median"] - sub["min"], sub["max"] - sub["median"]])
            ax.bar(
                x + (i - 0.5) * width,
                sub["median"],
                width,
                yerr=err,
                capsize=3,
                color=METRIC_COLORS[metric],
                label=METRIC_LABELS[metric],
                error_kw={"ecolor": "black", "elinewidth": 1},
            )
        low = rows["min"].min()
        ax.set_ylim(max(0.0, np.floor((low - 0.05) * 20) / 20), 1.0)
        ax.set_xticks(x, variants, rotation=30 if len(variants) > 4 else 0)
        seeds = int(rows["n_seeds"].max())
        ax.set_title(
            f"{(titles or {}).get(dataset, dataset)}\n(median over {seeds} seeds, bars: min-max)",
            fontsize=10,
        )
        ax.set_ylabel(f"{'validation' if split == 'valid' else split} score (mean over tasks)")
        ax.grid(axis="y", alpha=0.3)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def learning_curves(histories: pd.DataFrame, title: str = "Simulated TF binding"):
    """Figure 3: validation auROC per epoch, median over seeds with a min-max band, per variant.

    ``histories`` has columns variant, seed, epoch, val_auroc. Seeds that stopped early simply
    contribute no value to later epochs; the line ends where fewer than half the seeds remain.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for color, (variant, rows) in zip(
        VARIANT_COLORS, histories.groupby("variant", sort=False), strict=False
    ):
        table = rows.pivot(index="epoch", columns="seed", values="val_auroc")
        enough = table.notna().sum(axis=1) >= max(1, table.shape[1] / 2)
        table = table[enough]
        ax.plot(
            table.index,
            table.median(axis=1),
            color=color,
            label=f"{variant} ({table.shape[1]} seeds)",
        )
        ax.fill_between(
            table.index, table.min(axis=1), table.max(axis=1), color=color, alpha=0.2, linewidth=0
        )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    return _auroc_over_seeds(fig, ax, f"{title}: learning curves", "lower right")


def _auroc_over_seeds(fig, ax, title: str, legend: str):
    """Shared finish of the per-variant validation auROC plots (median line, min-max band)."""
    ax.set_ylabel("validation auROC (mean over tasks)")
    ax.set_title(f"{title}\n(median over seeds, band: min-max)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=legend)
    fig.tight_layout()
    return fig


def importance_curves(tables: dict[str, pd.DataFrame], title: str):
    """Figure 4: per-position importance per variant (blue) with its mirror image (green).

    ``tables`` maps a variant to an importance table (columns position, importance_mean, seed).
    """
    fig, axes = plt.subplots(
        1, len(tables), figsize=(4 * len(tables), 3.2), squeeze=False, sharey=False
    )
    for ax, (variant, table) in zip(axes[0], tables.items(), strict=False):
        curve = table["importance_mean"].to_numpy()
        ax.plot(table["position"], curve, color="#1f77b4", label="importance")
        ax.plot(table["position"], curve[::-1], color="#2ca02c", alpha=0.8, label="mirror image")
        ax.axhline(0, color="grey", linewidth=0.5)
        seed = int(table["seed"].iloc[0]) if "seed" in table else None
        ax.set_title(
            f"{variant} (seed {seed})\nsymmetry {symmetry_score(curve):.2f}, "
            f"smoothness {smoothness_score(curve):.2g}",
            fontsize=9,
        )
        ax.set_xlabel("position (bp)")
    axes[0][0].set_ylabel("mean gradient x input")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def positional_weights(
    kernels: dict[str, np.ndarray], title: str, clusters: int = 10, seed: int = 0
):
    """Figure 5: per panel, the positional weights of every SFC unit as a heatmap.

    ``kernels`` maps a panel label (e.g. "CR 10") to a ``(units, L)`` matrix. Each row ``w`` is
    drawn as ``s * w / mean(|w|)`` (:func:`sfcrepro.network.kernels.normalise_rows`): ``s`` = +1 or -1
    makes the row's entry of largest magnitude positive, because a unit's sign is arbitrary
    (negating ``W_pos[o]`` and ``W_chan[o]`` gives the same model), so a row and its negation
    land in the same cluster. Rows are then ordered by k-means cluster
    (:func:`sfcrepro.network.kernels.cluster_order`); white lines separate clusters. One colour scale
    for all panels, symmetric around 0.

    Parameters
    ----------
    kernels : dict of str to array-like
        Panel label -> ``(units, L)`` positional weights.
    title : str
        Figure title.
    clusters : int, default 10
        k of k-means (fewer when a panel has fewer rows).
    seed : int, default 0
        k-means seed.
    """

    prepared = {}
    for label, matrix in kernels.items():
        rows = normalise_rows(matrix)
        order, groups = cluster_order(rows, clusters=clusters, seed=seed)
        prepared[label] = (rows[order], groups)
    limit = max(np.percentile(np.abs(rows), 99) for rows, _ in prepared.values()) or 1.0
    fig, axes = plt.subplots(
        1,
        len(prepared),
        figsize=(3.2 * len(prepared) + 1.2, 4.8),
        squeeze=False,
        layout="constrained",
    )
    for ax, (label, (rows, groups)) in zip(axes[0], prepared.items(), strict=False):
        image = ax.imshow(
            rows, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest"
        )
        for boundary in np.flatnonzero(np.diff(groups)) + 0.5:
            ax.axhline(boundary, color="white", linewidth=0.8)
        ax.set_title(
            f"{label}\n({rows.shape[0]} units, {len(np.unique(groups))} clusters)", fontsize=10
        )
        ax.set_xlabel("position (SFC input)")
    axes[0][0].set_ylabel("SFC unit (by k-means cluster)")
    fig.colorbar(
        image, ax=list(axes[0]), shrink=0.8, label="sign-fixed weight / mean |weight| of the unit"
    )
    fig.suptitle(title, fontsize=11)
    return fig


def _median_band(ax, scores: pd.DataFrame, x: str, y: str) -> None:
    """Per variant, the median over seeds of ``y`` against ``x`` (log scale) as a line and its
    min-max as a band, with the number of seeds in the legend."""
    for color, (variant, rows) in zip(
        VARIANT_COLORS * 3, scores.groupby("variant", sort=False), strict=False
    ):
        stats = rows.groupby(x)[y].agg(["median", "min", "max", "count"]).sort_index()
        seeds = int(stats["count"].max())
        ax.plot(
            stats.index,
            stats["median"],
            marker="o",
            color=color,
            label=f"{variant} ({seeds} seeds)",
        )
        ax.fill_between(
            stats.index, stats["min"], stats["max"], color=color, alpha=0.2, linewidth=0
        )
    ax.set_xscale("log")
    values = sorted(scores[x].unique())
    ax.set_xticks(values, [f"{value:g}" for value in values])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def lr_robustness(scores: pd.DataFrame, title: str = "Simulated TF binding"):
    """Learning-rate robustness: validation auROC vs Adam learning rate, per variant.

    ``scores`` has columns variant, learning_rate, seed, val_auroc (of the restored, best epoch).
    Lines: median over seeds; bands: min to max.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    _median_band(ax, scores, "learning_rate", "val_auroc")
    ax.set_xlabel("Adam learning rate")
    return _auroc_over_seeds(fig, ax, f"{title}: learning-rate robustness", "lower left")


def training_size(scores: pd.DataFrame, title: str = "Simulated TF binding"):
    """Training-set size: validation auROC and auPRC vs training sequences per class, per variant.

    ``scores`` has columns variant, per_class, seed, val_auroc, val_auprc (of the restored, best
    epoch). Lines: median over seeds; bands: min to max; log x axis.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ["auroc", "auprc"], strict=True):
        _median_band(ax, scores, "per_class", f"val_{metric}")
        ax.set_xlabel("training sequences per class")
        ax.set_ylabel(f"validation {METRIC_LABELS[metric]} (mean over tasks)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{title}: training-set size (median over seeds, band: min-max)", fontsize=10)
    fig.tight_layout()
    return fig


def _points_per_seed(ax, values: pd.DataFrame, variants: list[str], ylabel: str, marked=None):
    """One column of points (one per seed) per variant with its median as a bar; ``marked`` maps
    a variant to the seed drawn as a star (its best seed)."""
    rng = np.random.default_rng(0)  # jitter only: the same picture every run
    for i, (color, variant) in enumerate(zip(VARIANT_COLORS * 3, variants, strict=False)):
        rows = values[values["variant"] == variant]
        jitter = rng.uniform(-0.12, 0.12, len(rows))
        ax.scatter(i + jitter, rows["value"], s=14, color=color, alpha=0.8, zorder=2)
        if len(rows):
            median = rows["value"].median()
            ax.plot([i - 0.25, i + 0.25], [median, median], color="black", lw=1.5, zorder=3)
        if marked and variant in marked:
            best = rows[rows["seed"] == marked[variant]]
            ax.scatter(
                [i] * len(best),
                best["value"],
                marker="*",
                s=120,
                color=color,
                edgecolor="black",
                zorder=4,
            )
    ax.set_xticks(range(len(variants)), variants)
    ax.set_xlim(-0.6, len(variants) - 0.4)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def attribution_accuracy(scores: pd.DataFrame, title: str, metric: str = "auroc"):
    """Attribution accuracy against the planted motifs: one panel per method, variants side by
    side, a point per seed and the median as a bar.

    ``scores`` has columns variant, seed, method and ``metric`` (:func:`sfcrepro.explain.ground_truth.accuracy`).
    """
    methods = list(dict.fromkeys(scores["method"]))
    variants = list(dict.fromkeys(scores["variant"]))
    fig, axes = _panel_grid(len(methods), width=3.6, height=3.4)
    label = f"{METRIC_LABELS[metric]} of |attribution| (planted motif vs background)"
    for ax, method in zip(axes, methods, strict=True):
        rows = scores[scores["method"] == method].rename(columns={metric: "value"})
        _points_per_seed(ax, rows, variants, label if ax is axes[0] else "")
        ax.set_title(method.replace("_", " "), fontsize=10)
    task = ", ".join(dict.fromkeys(scores["task"]))
    fig.suptitle(f"{title}: attribution accuracy, task {task} (a point per seed)", fontsize=11)
    fig.tight_layout()
    return fig


def effect_sizes(rows: pd.DataFrame, confidence: float = 0.95, title: str = "Effect sizes"):
    """Forest plot: each variant's median paired difference from its baseline over seeds, with
    its bootstrap interval, per dataset and measure; one panel per group (performance,
    attribution: their scales differ), a line at zero.

    ``rows`` are :func:`sfcrepro.pipeline.effects.forest_rows`. A filled marker is an interval
    that excludes zero (the sign is resolved by the seeds), an open one an interval that includes
    it.
    """
    groups = list(dict.fromkeys(rows["group"]))
    variants = list(dict.fromkeys(rows["variant"]))
    colors = {v: VARIANT_COLORS[i % len(VARIANT_COLORS)] for i, v in enumerate(variants)}
    heights = [
        max(1, rows.loc[rows["group"] == g, ["dataset", "measure"]].drop_duplicates().shape[0])
        for g in groups
    ]
    fig, axes = plt.subplots(
        1,
        max(1, len(groups)),
        figsize=(5.2 * max(1, len(groups)), 1.2 + 0.42 * max(heights, default=1)),
        squeeze=False,
    )
    axes = list(axes.flat)
    if rows.empty:
        axes[0].text(0.5, 0.5, "no paired comparisons", ha="center", va="center")
        axes[0].set_axis_off()
        return fig
    step = 0.7 / max(1, len(variants))
    for ax, group in zip(axes, groups, strict=True):
        part = rows[rows["group"] == group]
        lines = list(dict.fromkeys(zip(part["dataset"], part["measure"], strict=True)))
        for y, (dataset, measure) in enumerate(lines):
            here = part[(part["dataset"] == dataset) & (part["measure"] == measure)]
            for i, variant in enumerate(variants):
                row = here[here["variant"] == variant]
                if row.empty:
                    continue
                row = row.iloc[0]
                at = y + (i - (len(variants) - 1) / 2) * step
                excludes = row["ci_low"] > 0 or row["ci_high"] < 0
                ax.plot([row["ci_low"], row["ci_high"]], [at, at], color=colors[variant], lw=1.6)
                ax.plot(
                    row["median_difference"],
                    at,
                    "o",
                    color=colors[variant],
                    markerfacecolor=colors[variant] if excludes else "white",
                    markersize=5,
                    label=f"{variant} - {row['baseline']}",
                )
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(range(len(lines)), [f"{d}: {m}" for d, m in lines], fontsize=8)
        ax.set_ylim(len(lines) - 0.5, -0.5)
        ax.set_title(group, fontsize=10)
        ax.set_xlabel(
            f"variant - baseline (median over seeds, {confidence:.0%} bootstrap interval)",
            fontsize=8,
        )
        ax.grid(axis="x", alpha=0.3)
    unique = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        unique.update(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="upper right", fontsize=8, frameon=False)
    fig.suptitle(f"{title} (filled: interval excludes 0)", fontsize=11)
    fig.tight_layout()
    return fig


def importance_over_seeds(curves: pd.DataFrame, best: dict[str, int], title: str):
    """Figure 4a's scores for every seed: symmetry and smoothness of each seed's mean gradient x
    input curve, per variant, with the best seed (the one Figure 4a shows) as a star.

    ``curves`` has columns variant, seed, symmetry, smoothness, n_sequences.
    """
    variants = list(dict.fromkeys(curves["variant"]))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, score, label in (
        (axes[0], "symmetry", "symmetry (higher: more symmetric)"),
        (axes[1], "smoothness", "roughness (lower: smoother)"),
    ):
        _points_per_seed(ax, curves.rename(columns={score: "value"}), variants, label, best)
    n = int(curves["n_sequences"].iloc[0])
    fig.suptitle(
        f"{title}: Figure 4a's scores for every seed ({n:,} fresh sequences; star: best seed)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_logos(patterns: list[Pattern], path, *, kind: str = "contrib", width: float = 8.0):
    """Draw one sequence logo per pattern, one row each, and save to ``path``.

    Parameters
    ----------
    patterns : list of Pattern
        From :func:`sfcrepro.explain.discovery.discover_patterns`; an empty list gives a figure saying so.
    path : path-like
        Output file; the format follows the suffix (``.pdf``, ``.png``, ``.svg``).
    kind : {"contrib", "hypothetical", "sequence"}
        ``contrib``: contribution-weighted logo (the CWM, letter heights are the mean
        contributions); ``hypothetical``: the hypothetical CWM; ``sequence``: information-content
        logo of the base frequencies.
    width : float
        Figure width in inches; each row is 1.6 inches high.

    Returns
    -------
    Path
        The file written.
    """
    import logomaker

    if kind not in ("contrib", "hypothetical", "sequence"):
        raise ValueError(f"kind must be contrib, hypothetical or sequence, got {kind!r}.")
    path = Path(path)
    n = max(len(patterns), 1)
    fig, axes = plt.subplots(n, 1, figsize=(width, 1.6 * n), squeeze=False)
    try:
        if not patterns:
            axes[0, 0].text(0.5, 0.5, "No patterns found", ha="center", va="center")
            axes[0, 0].set_axis_off()
        for ax, pattern in zip(axes[:, 0], patterns, strict=False):
            if kind == "sequence":
                matrix = logomaker.transform_matrix(
                    pd.DataFrame(pattern.sequence, columns=list(BASES)),
                    from_type="probability",
                    to_type="information",
                )
            else:
                values = pattern.contrib if kind == "contrib" else pattern.hypothetical
                matrix = pd.DataFrame(values, columns=list(BASES))
            logomaker.Logo(matrix, ax=ax)
            ax.axhline(0, color="black", linewidth=0.5)
            ax.set_title(f"{pattern.name} ({pattern.n_seqlets} seqlets)", fontsize=9)
            ax.set_ylabel({"sequence": "bits"}.get(kind, "contribution"), fontsize=8)
            ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or None)
    finally:
        plt.close(fig)
    return path
