"""Training settings: :class:`TrainingSpec` (everything that defines one training run), the
settings of a variant and seed from a dataset's configuration (:func:`training_settings`), and
the allowed training precisions and execution defaults. No deep-learning imports (the Snakefile
reads it)."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

__all__ = [
    "EXECUTION_DEFAULTS",
    "PRECISIONS",
    "QUIET_DEFAULTS",
    "TRAINING_KEYS",
    "TrainingSpec",
    "training_settings",
]

# The keys of a dataset's `training` block; their defaults are those of TrainingSpec.
TRAINING_KEYS = (
    "learning_rate",
    "batch_size",
    "max_epochs",
    "patience",
    "reverse_complement",
    "class_weight",
)
#: Keys of a dataset's `training` block that enter a run's settings only when they differ from
#: TrainingSpec's default, so that adding them retrained no existing model.
QUIET_DEFAULTS = ("precision", "deterministic", "float32_matmul")
#: Training precisions: float32, or bfloat16 compute with float32 weights (``training.precision``).
PRECISIONS = ("float32", "mixed_bfloat16")
#: How training jobs run (the config's ``execution`` block; the schema has the same defaults):
#: seeds of a variant per job (process), whether a job's models step together in one compiled
#: program, training steps per compiled call, XLA / torch.compile, seconds between checkpoints. See
#: sfcrepro.pipeline.train.Execution.
EXECUTION_DEFAULTS = {
    "seeds_per_job": 1,
    "together": "auto",
    "steps_per_execution": "auto",
    "jit_compile": "auto",
    "checkpoint_every": 300,
}


@dataclass
class TrainingSpec:
    """Everything that defines one training run (a variant at one seed)."""

    architecture: str
    head: str
    seed: int
    learning_rate: float = 1e-3
    batch_size: int = 100
    max_epochs: int = 50
    patience: int = 5
    units: int | str | None = (
        None  # None: the paper's count; "matched": see sfcrepro.network.models
    )
    curvature: float = 0.0
    initializer: str = "paper"
    reverse_complement: bool = False
    # "balanced" or {"positive": w}: see sfcrepro.pipeline.train.example_class_weights()
    class_weight: str | dict | None = None
    name: str = "model"  # for messages: dataset/variant
    curvature_norm: str = (
        "l1"  # "l1" (the paper) or "l2"; see sfcrepro.network.layers.CurvatureRegularizer
    )
    # Train on a class-stratified subset of this many sequences per class (None: the whole
    # split); see sfcrepro.data.datasets.nested_subset, seeded with ``seed``.
    train_per_class: int | None = None
    # "float32" or "mixed_bfloat16" (bfloat16 compute, float32 weights); see PRECISIONS.
    precision: str = "float32"
    # Deterministic kernels: "auto" (on a CPU yes, on a GPU no), True or False; and float32
    # matmuls on a GPU: "high" (TF32 allowed) or "highest" (full float32). The job applies them
    # (sfcrepro.pipeline.runtime.device_policy); on a CPU the defaults change nothing.
    deterministic: str | bool = "auto"
    float32_matmul: str = "high"


def _same(value, default) -> bool:
    """Equal and of the same type (True is not "auto", 1 is not True)."""
    return type(value) is type(default) and value == default


def _spec_defaults() -> dict:
    """TrainingSpec's field defaults: the one place each training default is set."""
    return {f.name: f.default for f in fields(TrainingSpec) if f.default is not MISSING}


def training_settings(dataset: dict, variant: str, seed: int, name: str) -> dict:
    """Keyword arguments of :class:`TrainingSpec` for one variant and seed.

    A variant's own ``learning_rate``/``batch_size`` override the dataset's ``training`` block.
    Only what affects training is included, so that Snakemake reruns a model exactly when
    one of these settings changes. ``units`` is passed as given (None: the paper's count for
    the architecture; ``"matched"``: parameter-matched; see :mod:`sfcrepro.network.models`).
    ``curvature_norm`` is included only when it is not the default ``"l1"``, so that adding the
    key left the settings, and thus the models, of every existing L1 variant unchanged; a
    variant set to ``"l2"`` gets other settings and is retrained. ``precision``,
    ``deterministic`` and ``float32_matmul`` likewise, only when they differ from their
    defaults (``"float32"``, ``"auto"``, ``"high"``).
    """
    options = dataset["variants"][variant]
    defaults = _spec_defaults()
    settings = {key: defaults[key] for key in TRAINING_KEYS} | dataset.get("training", {})
    for key in ("learning_rate", "batch_size"):
        if key in options:
            settings[key] = options[key]
    norm = options.get("curvature_norm", defaults["curvature_norm"])
    for key in QUIET_DEFAULTS:  # as curvature_norm: runs at the defaults keep their settings
        if key in settings and _same(settings[key], defaults[key]):
            settings.pop(key)
    return {
        "architecture": dataset["architecture"],
        "head": options["head"],
        "seed": int(seed),
        "units": options.get("units", defaults["units"]),
        "curvature": float(options.get("curvature", defaults["curvature"])),
        **({"curvature_norm": norm} if norm != defaults["curvature_norm"] else {}),
        "initializer": options.get("initializer", defaults["initializer"]),
        "name": name,
        **settings,
    }
