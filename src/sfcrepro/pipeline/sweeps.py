"""Sweeps: runs of one dataset's variants that change one training setting over a list of values
(the learning rate of Figure S1, the training-set size), trained beside the main run, and the
figure and summary made from their validation scores.

Every sweep is one :class:`Sweep` entry of :data:`SWEEPS`, keyed by its entry under ``figures:``
in the configuration (``dataset``, ``variants``, the list of values, ``seeds``). The workflow
makes the training rules, the figure rule and the targets of every enabled sweep from this table
(``workflow/rules/train.smk`` and ``figures.smk``), and reuses a main-run model wherever a sweep's
run is the same training (:func:`history`). Adding a sweep is one entry here, its figure function
in :mod:`sfcrepro.pipeline.figures`, its schema entry and its report captions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sfcrepro.pipeline.settings import training_settings

__all__ = ["SWEEPS", "Sweep", "figure_name", "history", "label", "runs", "spec_settings"]


@dataclass(frozen=True)
class Sweep:
    """One kind of sweep.

    Attributes
    ----------
    values : str
        The key of its list of values in the figure's configuration entry.
    column : str
        The column that holds the value in its tables (runs and summary).
    setting : str
        The :class:`sfcrepro.pipeline.settings.TrainingSpec` field that the value sets.
    prefix : str
        What precedes the value in paths (``lr0.001``, ``n100``).
    folder : str
        Its runs are written under ``results/<folder>/<training set>/<variant>/<label>/``.
    rule : str
        The kind of its training rules (``<rule>_seeds0to4``, ...): profiles set resources and
        threads under this name.
    figure_rule : str
        The name of its figure rule.
    figure : str
        The file name of its figure and tables (``{dataset}`` is filled in).
    caption : str
        The report caption of its figure (``workflow/report/<caption>.rst``; the summary's is
        ``<caption>_summary.rst``).
    subcategory : str
        Its report subcategory.
    draw : str
        The :mod:`sfcrepro.pipeline.figures` function that draws it from the runs' scores.
    parse : callable
        A value from its text in a path or the configuration.
    main_value : callable
        ``(dataset configuration, variant)`` -> the value the main run trains that variant at.
    """

    values: str
    column: str
    setting: str
    prefix: str
    folder: str
    rule: str
    figure_rule: str
    figure: str
    caption: str
    subcategory: str
    draw: str
    parse: Callable[[str], float | int]
    main_value: Callable[[dict, str], float | int]


def _learning_rate(dataset: dict, variant: str) -> float:
    return float(training_settings(dataset, variant, 0, "")["learning_rate"])


def _per_class(dataset: dict, variant: str) -> int:
    return int(dataset["simulation"]["per_class"]["train"])


SWEEPS: dict[str, Sweep] = {
    "lr_robustness": Sweep(
        values="learning_rates",
        column="learning_rate",
        setting="learning_rate",
        prefix="lr",
        folder="lr_robustness",
        rule="train_lr",
        figure_rule="figS1_lr_robustness",
        figure="figS1_lr_robustness",
        caption="figS1_lr_robustness",
        subcategory="Supplementary: learning-rate robustness",
        draw="lr_robustness",
        parse=float,
        main_value=_learning_rate,
    ),
    "training_size": Sweep(
        values="per_class",
        column="per_class",
        setting="train_per_class",
        prefix="n",
        folder="training_size",
        rule="train_size",
        figure_rule="training_size_figure",
        figure="training_size_{dataset}",
        caption="training_size",
        subcategory="Beyond the paper: training-set size",
        draw="training_size",
        parse=int,
        main_value=_per_class,
    ),
}


def value_text(sweep: Sweep, value) -> str:
    """A value as paths write it (a learning rate 1e-4 as 0.0001, a size as an integer)."""
    parsed = sweep.parse(value)
    return f"{parsed:g}" if isinstance(parsed, float) else str(parsed)


def label(sweep: Sweep, value) -> str:
    """The path label of one value (``lr0.001``, ``n100``)."""
    return f"{sweep.prefix}{value_text(sweep, value)}"


def runs(sweep: Sweep, plan: dict) -> list[tuple[str, float | int, int]]:
    """``(variant, value, seed)`` of every run of a sweep's figure, in a fixed order.

    ``plan`` is the sweep's entry under ``figures:`` (``variants``, its values, ``seeds``).
    """
    return [
        (variant, sweep.parse(value), int(seed))
        for variant in plan["variants"]
        for value in plan[sweep.values]
        for seed in plan["seeds"]
    ]


def figure_name(sweep: Sweep, plan: dict) -> str:
    """The file name (no suffix) of a sweep's figure and tables."""
    return sweep.figure.format(dataset=plan["dataset"])


def history(
    sweep: Sweep, plan: dict, dataset: dict, main_variants, main_seeds, variant, value, seed
) -> str:
    """The history file of one run of a sweep: the main run's where the run is the same training
    (a main-run variant, one of the main seeds, and the value the main run trains at), else the
    sweep's own."""
    trainset = plan["dataset"]
    if (
        seed in main_seeds
        and variant in main_variants
        and sweep.parse(value) == sweep.main_value(dataset, variant)
    ):
        return f"results/models/{trainset}/{variant}/seed{seed}/history.tsv"
    where = f"{trainset}/{variant}/{label(sweep, value)}"
    return f"results/{sweep.folder}/{where}/seed{seed}/history.tsv"


def spec_settings(sweep: Sweep, dataset: dict, trainset: str, variant: str, seed: int, value):
    """The :class:`sfcrepro.pipeline.settings.TrainingSpec` settings of one run of a sweep: the main run's
    for that variant and seed, with the swept setting at ``value``."""
    name = f"{trainset}/{variant}/{label(sweep, value)}"
    settings = training_settings(dataset, variant, seed, name)
    settings[sweep.setting] = sweep.parse(value)
    return settings
