"""Training: Adam + binary cross-entropy, early stopping on validation loss, per-epoch history.

:func:`train` trains one model; :func:`train_runs` trains several runs that differ only in their
seed (the seeds of one variant: one pipeline job) in one process, sharing the start-up, the data
on the device and the compiled step. Runs train *together* (one compiled program steps them all,
:class:`sfcrepro.pipeline.engine.Engine`) or one after another (:class:`Execution`); either way each run
gets the model it would get alone: its own initial weights, batch order, dropout draws, early
stopping and files.

The split stays uint8 codes on the device; each step gathers, one-hot encodes and (when asked)
reverse-complements its batch inside the compiled step (:mod:`sfcrepro.pipeline.engine`). With a seed
(and :func:`sfcrepro.pipeline.runtime.configure` asking for deterministic ops) a CPU run gives the same
weights every time, alone or with other seeds.

With a checkpoint path, the state after each epoch is saved (:class:`Checkpoint`): a job killed
mid-epoch resumes from the last finished epoch and ends with the same weights and history as a
run that was never stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from sfcrepro.data.datasets import nested_subset, read_dataset
from sfcrepro.data.io import atomic_path, write_tsv
from sfcrepro.network.models import build_model, training_flops_per_example
from sfcrepro.pipeline.engine import MIN_PREDICT_CHUNK, Engine, device_kind, global_rng_state
from sfcrepro.pipeline.evaluate import binary_crossentropy, task_metrics
from sfcrepro.pipeline.settings import EXECUTION_DEFAULTS, PRECISIONS, TrainingSpec

__all__ = [
    "Checkpoint",
    "Execution",
    "HISTORY_COLUMNS",
    "RunFiles",
    "TrainingSpec",
    "batch_rows",
    "class_weights",
    "epoch_loss",
    "example_class_weights",
    "run_fingerprint",
    "spec_model",
    "train",
    "train_runs",
]

log = logging.getLogger("sfcrepro.pipeline.train")
HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "val_auroc", "val_auprc", "seconds"]
#: Models cheaper than this many training FLOPs per example are "small": they train together on
#: a GPU (``together: auto``) and a whole epoch per compiled call (``steps_per_execution: auto``);
#: larger ones (Basset: 1.6 GFLOP) fill the device alone, one step per call.
TOGETHER_MAX_FLOPS = 5e8
# A progress line at most this often within a long epoch (seconds).
PROGRESS_EVERY = 60.0
# The clock of the checkpoint interval (tests replace it).
checkpoint_clock = time.monotonic


@contextmanager
def dtype_policy(precision: str):
    """Build models under a Keras dtype policy (``float32`` or ``mixed_bfloat16``), then restore
    the previous one."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def spec_model(spec: TrainingSpec, length: int, tasks: int) -> keras.Model:
    """The uncompiled model a spec trains, for inputs of ``length`` bp and ``tasks`` tasks.

    Passes the spec's head, curvature (strength and norm), SFC units (None: the paper's count,
    "matched": parameter-matched, see :mod:`sfcrepro.network.models`) and initializer to the builder,
    under the spec's ``precision`` (``mixed_bfloat16``: bfloat16 compute, float32 weights; the
    output layers stay float32).
    """
    with dtype_policy(spec.precision):
        return build_model(
            spec.architecture,
            head=spec.head,
            length=length,
            tasks=tasks,
            curvature=spec.curvature,
            units=spec.units,
            initializer=spec.initializer,
            curvature_norm=spec.curvature_norm,
        )


def class_weights(labels) -> np.ndarray:
    """Weights of class 0 and 1 of a single-task label vector, ``n / (2 n_class)``.

    This is scikit-learn's ``balanced`` rule: each class then carries half of the loss. It is
    our choice for in vivo TF binding (about one positive per several negatives), not the
    original's: the original scripts passed Keras ``class_weight={0: 1, 1: w}`` with ``w`` from
    their command line (5 in their first version; the values finally used are not recorded).
    Weights proportional to these give the same optimum up to the loss scale; ``{positive: w}``
    in the config (:func:`example_class_weights`) gives the original's form.
    """
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.asarray(labels).reshape(len(labels), -1)
    if labels.shape[1] != 1:
        raise ValueError(f"class weights need one task, got {labels.shape[1]}.")
    present = np.unique(labels)
    if not np.array_equal(present, [0, 1]):
        raise ValueError(
            f"class weights need both classes in the training split; it has only {present.tolist()}."
        )
    return compute_class_weight("balanced", classes=np.array([0, 1]), y=labels[:, 0])


def example_class_weights(class_weight, labels) -> np.ndarray | None:
    """The weights of class 0 and 1 that a ``class_weight`` setting gives on ``labels``.

    Parameters
    ----------
    class_weight : None, "balanced" or dict
        None: unweighted (returns None). ``"balanced"``: :func:`class_weights` of ``labels``
        (``n / (2 n_class)``). ``{"positive": w}`` with ``w > 0``: 1 for negatives and ``w`` for
        positives, as the original's Keras ``class_weight={0: 1, 1: w}``.
    labels : array-like, shape (n,) or (n, 1)
        Training labels of a single-task dataset.

    Returns
    -------
    numpy.ndarray or None
        ``[weight of 0, weight of 1]``; the training step gives each example the weight of its
        class.
    """
    if class_weight is None:
        return None
    if class_weight == "balanced":
        return class_weights(labels)
    if isinstance(class_weight, dict) and set(class_weight) == {"positive"}:
        positive = class_weight["positive"]
        if isinstance(positive, (int, float)) and not isinstance(positive, bool) and positive > 0:
            labels = np.asarray(labels).reshape(len(labels), -1)
            if labels.shape[1] != 1:
                raise ValueError(f"class weights need one task, got {labels.shape[1]}.")
            return np.array([1.0, float(positive)])
    raise ValueError(
        f"class_weight must be 'balanced', {{'positive': w}} with w > 0, or None; "
        f"got {class_weight!r}."
    )


@dataclass(frozen=True)
class Execution:
    """How a job's runs use the machine (config ``execution``); none of it changes a model.

    Parameters
    ----------
    together : "auto", bool
        Step the runs in one compiled program (True) or train them one after another (False).
        ``auto``: together on a GPU when a model costs under :data:`TOGETHER_MAX_FLOPS` training
        FLOPs per example (small models, which alone leave the GPU idle), else one after another
        (on a CPU the cores are busy either way).
    steps_per_execution : "auto", int
        Training steps per compiled call (TensorFlow, JAX). ``auto``: a whole epoch per call for
        models under :data:`TOGETHER_MAX_FLOPS` (their steps are short, so the host's work per
        call would count), except under JAX on a CPU, whose XLA runs a loop of convolutions
        17-20 times slower than the same steps called one by one (measured: docs/benchmarks.md);
        one step per call for larger models (their steps keep the device busy while the host
        prepares the next, and progress lines come within an epoch).
    jit_compile : "auto", bool
        TensorFlow: XLA; PyTorch: ``torch.compile``; ``auto``: on a GPU. JAX always compiles.
    checkpoint_every : float
        Seconds between checkpoints of a run (with a checkpoint path): one is written at the end
        of the first epoch that ends this long after the last one (or the start), and always at
        the run's last epoch; 0: after every epoch. A Basset checkpoint is about 100 MB, and on
        a GPU an epoch of a small dataset takes seconds.
    """

    together: str | bool = EXECUTION_DEFAULTS["together"]
    steps_per_execution: str | int = EXECUTION_DEFAULTS["steps_per_execution"]
    jit_compile: str | bool = EXECUTION_DEFAULTS["jit_compile"]
    checkpoint_every: float = EXECUTION_DEFAULTS["checkpoint_every"]

    def __post_init__(self):
        for key in ("together", "jit_compile"):
            value = getattr(self, key)
            if not (value == "auto" or isinstance(value, bool)):
                raise ValueError(
                    f"execution.{key} must be auto, true or false; got {getattr(self, key)!r}."
                )
        spe = self.steps_per_execution
        if spe != "auto" and (isinstance(spe, bool) or not isinstance(spe, int) or spe < 1):
            raise ValueError(
                f"execution.steps_per_execution must be auto or an integer >= 1; got {spe!r}."
            )
        every = self.checkpoint_every
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every >= 0:
            raise ValueError(
                f"execution.checkpoint_every must be a number of seconds >= 0; got {every!r}."
            )

    @classmethod
    def from_config(cls, execution: dict | None) -> Execution:
        """From the config's ``execution`` block (``seeds_per_job`` is the workflow's)."""
        execution = dict(execution or {})
        execution.pop("seeds_per_job", None)
        unknown = set(execution) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"Unknown execution keys: {', '.join(sorted(unknown))}.")
        return cls(**execution)

    def resolve(self, model: keras.Model) -> dict:
        """The concrete choices for ``model`` on this device: together, jit_compile, steps (None:
        a whole epoch per call)."""
        gpu = device_kind() == "gpu"
        small = training_flops_per_example(model) < TOGETHER_MAX_FLOPS
        together = self.together
        if together == "auto":
            together = gpu and small
        steps = self.steps_per_execution
        if steps == "auto":
            looped = small and (gpu or keras.backend.backend() != "jax")
            steps = None if looped else 1
        jit = gpu if self.jit_compile == "auto" else self.jit_compile
        if keras.backend.backend() == "tensorflow" and jit and _op_determinism():
            log.warning(
                "jit_compile with TensorFlow's op determinism on: XLA has no deterministic "
                "max-pooling gradient; training without XLA."
            )
            jit = False
        return {"together": bool(together), "jit_compile": bool(jit), "steps": steps}


def _op_determinism() -> bool:
    """Whether TensorFlow's op determinism is on (TensorFlow has no public query of it)."""
    from tensorflow.python.framework import config

    return bool(config.is_op_determinism_enabled())


@dataclass(frozen=True)
class RunFiles:
    """What one run trains and where it writes: its spec, model (.keras), history (TSV) and
    optional checkpoint (.npz)."""

    spec: TrainingSpec
    model: str | os.PathLike
    history: str | os.PathLike
    checkpoint: str | os.PathLike | None = None


def epoch_loss(step_losses, step_examples) -> float:
    """An epoch's training loss from its batch losses, as Keras reports it: the mean weighted by
    the examples in each batch, summed in float32 in step order (Keras' ``Mean`` metric), so
    that histories equal those of the ``model.fit`` loop of earlier versions."""
    total = count = np.float32(0)
    for loss, n in zip(np.asarray(step_losses, np.float32), step_examples, strict=True):
        total = np.float32(total + np.float32(loss * np.float32(n)))
        count = np.float32(count + np.float32(n))
    return float(np.float32(total / count)) if count else float("nan")


def batch_rows(order: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Split an epoch's row order into batches, rows sorted within each batch.

    Returns the full batches ``(S, batch_size)`` and the last, shorter batch (None when the
    order divides evenly).
    """
    order = np.asarray(order)
    full = len(order) // batch_size
    batches = np.sort(order[: full * batch_size].reshape(full, batch_size), axis=1)
    rest = order[full * batch_size :]
    return batches, (np.sort(rest) if len(rest) else None)


class Checkpoint:
    """Everything a run needs to go on after an epoch, in one ``.npz`` file (no pickled objects).

    It holds the model's variables (weights, batch-norm statistics and dropout seed states), the
    optimizer's (Adam's moments and step count), the early-stopping state with its best weights,
    the history so far and a fingerprint of the run; it is replaced atomically after each
    epoch. A run restored from it continues with the next epoch, its batches drawn as the
    uninterrupted run's, so on CPU it ends with the same weights and history. A checkpoint whose
    fingerprint differs (other settings, other input files, other Keras or backend) is not used:
    training starts afresh and replaces it after its first epoch.
    """

    def __init__(self, path, fingerprint: str):
        self.path = None if path is None else Path(path)
        self.fingerprint = fingerprint

    def save(self, run: _Run) -> None:
        if self.path is None:
            return
        state = {
            "fingerprint": self.fingerprint,
            "rows": run.rows,
            "finished": run.finished,
            "wait": run.wait,
            "best": None if run.best is None else float(run.best),
            "best_epoch": run.best_epoch,
        }
        arrays = {"state": np.array(json.dumps(state))}
        model = run.model
        arrays.update(
            {f"model_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.variables)}
        )
        arrays.update(
            {
                f"optimizer_{i}": keras.ops.convert_to_numpy(v)
                for i, v in enumerate(model.optimizer.variables)
            }
        )
        arrays.update({f"best_{i}": w for i, w in enumerate(run.best_weights or [])})
        arrays.update(run.rng_state or {})
        with atomic_path(self.path) as tmp:
            np.savez(tmp, **arrays)

    def restore(self, run: _Run) -> int:
        """Load the checkpoint into ``run`` (its model compiled, optimizer built); return the
        epochs done, 0 (the run untouched) when there is no usable checkpoint."""
        if self.path is None or not self.path.exists():
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            state = json.loads(str(arrays.pop("state")))
        except (OSError, ValueError, KeyError) as error:
            log.warning(
                "%s: unreadable checkpoint (%s); training from the start.", self.path, error
            )
            return 0
        if state.get("fingerprint") != self.fingerprint:
            log.warning(
                "%s was saved by a run with other settings or inputs; training from the start.",
                self.path,
            )
            return 0
        model = run.model
        pairs = []
        for prefix, variables in (
            ("model", model.variables),
            ("optimizer", model.optimizer.variables),
        ):
            saved = _numbered(arrays, prefix)
            if [tuple(a.shape) for a in saved] != [tuple(v.shape) for v in variables]:
                log.warning(
                    "%s: %s variables do not match the model; training from the start.",
                    self.path,
                    prefix,
                )
                return 0
            pairs += zip(variables, saved, strict=True)
        for variable, value in pairs:  # only once everything matched
            variable.assign(value)
        run.rows, run.finished = state["rows"], state["finished"]
        run.wait, run.best, run.best_epoch = state["wait"], state["best"], state["best_epoch"]
        run.best_weights = _numbered(arrays, "best") or None
        if run.rng_state is not None and "rng_cpu" in arrays:
            run.rng_state = {k: arrays[k] for k in run.rng_state if k in arrays}
        return len(run.rows)

    def remove(self) -> None:
        """Delete the checkpoint (once the model and history are written)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _numbered(arrays: dict, prefix: str) -> list:
    """``arrays["<prefix>_0"]``, ``arrays["<prefix>_1"]``, ... in order."""
    return [arrays[f"{prefix}_{i}"] for i in range(sum(k.startswith(prefix + "_") for k in arrays))]


class _Run:
    """One run's model, data order, early stopping and history while training."""

    def __init__(self, files: RunFiles, model, n: int, kept, fingerprint: str):
        self.files, self.spec, self.model = files, files.spec, model
        self.n = n  # training examples
        self.kept = kept  # its training rows in the split (sorted), or None: every row
        self.rng = np.random.default_rng(self.spec.seed)
        # The first permutation is drawn and not used: the Keras model.fit loop of earlier
        # versions reshuffled its batches once before the first epoch, and drawing it keeps every
        # run's batches, and so its model, what they were (tests/test_train.py checks this).
        self.rng.permutation(n)
        self.rows: list[dict] = []
        self.finished = False
        self.wait, self.best, self.best_epoch, self.best_weights = 0, None, 0, None
        # the backend's global random state as this run alone would find it (PyTorch dropout)
        self.rng_state = global_rng_state()
        self.class_weights = None  # of class 0 and 1 (single task), or None
        self.checkpoint = Checkpoint(files.checkpoint, fingerprint)

    @property
    def epochs_done(self) -> int:
        return len(self.rows)

    def next_order(self) -> np.ndarray:
        """The row order of the next epoch (a fresh seeded permutation per epoch)."""
        order = self.rng.permutation(self.n)
        return order if self.kept is None else self.kept[order]

    def early_stopping(self, epoch: int, val_loss: float) -> bool:
        """Keras' ``EarlyStopping(monitor="val_loss", restore_best_weights=True)`` rule after
        ``epoch`` (0-based); returns whether to stop."""
        if self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.best is None or val_loss < self.best:
            self.best, self.best_epoch = val_loss, epoch
            self.best_weights = self.model.get_weights()
            self.wait = 0
            return False
        return self.wait >= self.spec.patience and epoch > 0


def run_fingerprint(spec: TrainingSpec, *inputs) -> str:
    """A hash of what determines a run: its spec, the input files (size and modification time),
    and the Keras version and backend."""
    files = [(str(Path(p).resolve()), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in inputs]
    text = json.dumps(
        [asdict(spec), files, keras.__version__, keras.backend.backend()], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


# Settings that may differ between the runs of one train_runs call.
_PER_RUN = {"seed", "name"}


def train_runs(runs, train_path, valid_path, execution: Execution | None = None, callbacks=()):
    """Train several runs on one split in this process; write each one's model and history.

    The runs' specs may differ only in ``seed`` and ``name`` (the seeds of one variant). Each
    model keeps the weights of its epoch with the lowest validation loss. Checkpoints (if given)
    are removed only once every run's files are written, so that a job stopped after writing
    some of them (Snakemake then deletes all its outputs) finds those runs finished on rerun.

    Parameters
    ----------
    runs : list of RunFiles
    train_path, valid_path : path-like
        The training and validation splits (``.h5``, :mod:`sfcrepro.data.datasets`).
    execution : Execution, optional
        Together or one after another, compilation, steps per call (default: ``Execution()``).
    callbacks : sequence
        Objects with any of ``on_epoch_begin(run, epoch)``, ``on_steps_end(run, epoch, steps)``,
        ``on_epoch_end(run, epoch, row)`` and ``on_train_end(run)`` (``run.model`` is the Keras
        model; weights changed at ``on_epoch_begin`` are trained from).

    Returns
    -------
    list of DataFrame
        Each run's history, one row per epoch with :data:`HISTORY_COLUMNS`.
    """
    runs = list(runs)
    if not runs:
        return []
    _check_runs(runs)
    spec = runs[0].spec
    execution = execution or Execution()
    train_x, train_y, tasks = read_dataset(train_path)
    valid_x, valid_y, valid_tasks = read_dataset(valid_path)
    if valid_tasks != tasks:
        raise ValueError(f"{valid_path} has tasks {valid_tasks}, but {train_path} has {tasks}.")
    states = [
        _start_run(files, (train_x, train_y, tasks), len(valid_x), (train_path, valid_path))
        for files in runs
    ]
    n_train = len(train_x) if spec.train_per_class is None else len(states[0].kept)

    choice = execution.resolve(states[0].model)
    engine = Engine(
        [r.model for r in states],
        train_x,
        train_y,
        class_weights=[r.class_weights for r in states],
        reverse_complement=spec.reverse_complement,
        steps_per_execution=choice["steps"],
        jit_compile=choice["jit_compile"],
        rng_states=[r.rng_state for r in states],
    )
    log.info(
        "%d run(s) on %s (%s backend): %s, jit_compile %s, %s per call, checkpoints every %g s, "
        "training split in %s memory",
        len(states),
        engine.kind,
        engine.backend,
        "together" if choice["together"] else "one after another",
        choice["jit_compile"],
        "an epoch" if choice["steps"] is None else f"{choice['steps']} step(s)",
        execution.checkpoint_every,
        "device" if engine.on_device and engine.kind == "gpu" else "host",
    )
    pending = [i for i, r in enumerate(states) if not r.finished]
    if choice["together"]:  # runs resumed after different epochs: a cohort per epoch
        cohorts = {}
        for i in pending:
            cohorts.setdefault(states[i].epochs_done, []).append(i)
        groups = [cohorts[k] for k in sorted(cohorts)]
    else:
        groups = [[i] for i in pending]
    context = _EpochContext(
        engine, states, valid_x, valid_y, n_train, spec, callbacks, execution.checkpoint_every
    )
    for group in groups:  # a group keeps its width: a run that stops is frozen in it
        active = list(group)
        while active:
            active = context.epoch(group, active)

    histories = [_finish_run(run, callbacks, train_x.shape[1], len(tasks)) for run in states]
    for run in states:  # only now: see the docstring
        run.checkpoint.remove()
    return histories


def _check_runs(runs) -> None:
    """Runs of one process: specs equal but for seed and name, seeds distinct."""
    first = asdict(runs[0].spec)
    for r in runs[1:]:
        other = asdict(r.spec)
        differ = sorted(k for k in first if k not in _PER_RUN and first[k] != other[k])
        if differ:
            raise ValueError(
                f"Runs trained in one process may differ only in seed and name; "
                f"{r.spec.name} seed {r.spec.seed} differs in {', '.join(differ)}."
            )
    seeds = [r.spec.seed for r in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"Seeds given twice: {seeds}.")


def _start_run(files: RunFiles, split, n_valid: int, inputs) -> _Run:
    """A run ready to train on ``split`` (the training split's sequences, labels and tasks): its
    rows, its model (built as training it alone would), its class weights, and the state of its
    checkpoint if there is one (fingerprinted with the ``inputs``, the split files)."""
    train_x, train_y, tasks = split
    s = files.spec
    kept = None
    if s.train_per_class is not None:
        kept = nested_subset(train_y, s.train_per_class, s.seed)
        log.info(
            "%s seed %d: training subset of %d per class, %d of %d sequences",
            s.name,
            s.seed,
            s.train_per_class,
            len(kept),
            len(train_x),
        )
    labels = train_y if kept is None else train_y[kept]
    log.info(
        "%s seed %d: %d training and %d validation sequences of %d bp, tasks %s; %s",
        s.name,
        s.seed,
        len(labels),
        n_valid,
        train_x.shape[1],
        ", ".join(tasks),
        asdict(s),
    )
    keras.utils.set_random_seed(s.seed)  # initial weights and dropout seeds, as alone
    model = spec_model(s, length=train_x.shape[1], tasks=len(tasks))
    model.compile(optimizer=keras.optimizers.Adam(s.learning_rate), loss="binary_crossentropy")
    model.optimizer.build(model.trainable_variables)
    log.info("%s: %s parameters", model.name, f"{model.count_params():,}")
    run = _Run(files, model, len(labels), kept, run_fingerprint(s, *inputs))
    run.class_weights = example_class_weights(s.class_weight, labels)
    if run.class_weights is not None:
        log.info(
            "%s seed %d: class weights (%s): negatives %.4g, positives %.4g",
            s.name,
            s.seed,
            s.class_weight,
            *run.class_weights,
        )
    done = run.checkpoint.restore(run)
    if done:
        log.info(
            "%s seed %d: resuming after epoch %d from %s", s.name, s.seed, done, files.checkpoint
        )
    for _ in range(done):  # the data order of the next epoch, as the uninterrupted run has it
        run.next_order()
    return run


def _finish_run(run: _Run, callbacks, length: int, tasks: int) -> pd.DataFrame:
    """Restore the run's best weights, write its model and history; return the history."""
    if run.best_weights is not None:
        run.model.set_weights(run.best_weights)
    history = pd.DataFrame(run.rows)[HISTORY_COLUMNS]
    best = int(history["val_loss"].idxmin())
    log.info(
        "%s seed %d: best epoch %d of %d (val_loss %.4f, val_auroc %.4f)",
        run.spec.name,
        run.spec.seed,
        best + 1,
        len(history),
        history.loc[best, "val_loss"],
        history.loc[best, "val_auroc"],
    )
    for callback in callbacks:
        if hasattr(callback, "on_train_end"):
            callback.on_train_end(run)
    _save_model(run.model, run.spec, length, tasks, run.files.model)
    write_tsv(history, run.files.history, float_format="%.6g")
    return history


class _EpochContext:
    """One epoch of a group of runs stepped together: training, validation, early stopping,
    history, checkpoints, progress."""

    def __init__(self, engine, states, valid_x, valid_y, n_train, spec, callbacks, every):
        self.engine, self.states, self.callbacks = engine, states, list(callbacks)
        self.valid_x, self.valid_y = valid_x, np.asarray(valid_y)
        self.n_train, self.spec = n_train, spec
        self.chunk = max(spec.batch_size, MIN_PREDICT_CHUNK)
        self.checkpoint_every = float(every)
        # a callback that may change weights between epochs: the engine rereads them
        self.reload = any(hasattr(c, "on_epoch_begin") for c in self.callbacks)
        self.last_checkpoint = dict.fromkeys(range(len(states)), checkpoint_clock())

    def _call(self, name, run, *args):
        for callback in self.callbacks:
            if hasattr(callback, name):
                getattr(callback, name)(run, *args)

    def epoch(self, group: list[int], active: list[int]) -> list[int]:
        """Train the runs ``active`` of ``group`` (indices, all at the same epoch) for one epoch;
        return those that go on. The group's other runs have stopped: frozen, they keep their
        place (and so the compiled program) until the group is done."""
        engine, runs = self.engine, [self.states[i] for i in active]
        epoch = runs[0].epochs_done
        for run in runs:
            self._call("on_epoch_begin", run, epoch)
        if self.reload:
            engine.reload()
        start = time.perf_counter()
        batch = self.spec.batch_size
        split = {i: batch_rows(self.states[i].next_order(), batch) for i in active}
        # a frozen run's place gets the rows of an active one: computed, then thrown away
        split = [split.get(i, split[active[0]]) for i in group]
        flags = [i in active for i in group]
        full = np.stack([s[0] for s in split])
        steps = full.shape[1] + (split[0][1] is not None)
        last_log = start

        def after_call(done):
            nonlocal last_log
            for run in runs:
                self._call("on_steps_end", run, epoch, done)
            now = time.perf_counter()
            if now - last_log > PROGRESS_EVERY and done < steps:
                last_log = now
                log.info(
                    "%s epoch %d: %d of %d steps, %.0f examples/s",
                    ", ".join(f"{r.spec.name} seed {r.spec.seed}" for r in runs),
                    epoch + 1,
                    done,
                    steps,
                    done * batch * len(runs) / (now - start),
                )

        # batch losses stay on the device until the epoch's end, then are read once
        parts, examples = [], []
        if full.shape[1]:
            parts.append(engine.train(group, full, after_call, active=flags))
            examples += [full.shape[2]] * full.shape[1]
        if split[0][1] is not None:
            rest = np.stack([s[1] for s in split])[:, None, :]
            parts.append(engine.train(group, rest, active=flags))
            examples.append(rest.shape[2])
            after_call(steps)
        step_losses = keras.ops.convert_to_numpy(
            parts[0] if len(parts) == 1 else keras.ops.concatenate(parts, axis=1)
        )
        train_seconds = time.perf_counter() - start
        factor = 2 if self.spec.reverse_complement else 1
        engine.sync(active)  # a frozen run's variables already hold its state
        scores = engine.predict(group, self.valid_x, self.chunk)
        # every run's regularisation terms, read in one transfer
        terms = [list(run.model.losses) for run in runs]
        values = iter(_values([t for run_terms in terms for t in run_terms]))
        regularizations = [sum(float(next(values)) for _ in run_terms) for run_terms in terms]
        seconds = time.perf_counter() - start
        going_on = []
        now = checkpoint_clock()  # one reading for the group: its runs checkpoint together
        for index, run, regularization in zip(active, runs, regularizations, strict=True):
            k = group.index(index)
            loss = epoch_loss(step_losses[k], np.array(examples) * factor)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"{run.spec.name} seed {run.spec.seed}: training loss became {loss} in epoch "
                    f"{epoch + 1}. Lower the learning rate in the config for this variant."
                )
            auroc, auprc = task_metrics(self.valid_y, scores[k])
            row = {
                "epoch": epoch + 1,
                "loss": loss,
                "val_loss": binary_crossentropy(self.valid_y, scores[k]) + regularization,
                "val_auroc": float(np.nanmean(auroc)) if np.isfinite(auroc).any() else np.nan,
                "val_auprc": float(np.nanmean(auprc)) if np.isfinite(auprc).any() else np.nan,
                "seconds": seconds,
            }
            stop = run.early_stopping(epoch, row["val_loss"])
            run.rows.append(row)
            run.finished = stop or epoch + 1 >= run.spec.max_epochs
            log.info(
                "%s seed %d epoch %d/%d: loss %.4f val_loss %.4f val_auroc %.4f val_auprc %.4f "
                "(%.1f s; training %.0f examples/s)",
                run.spec.name,
                run.spec.seed,
                epoch + 1,
                run.spec.max_epochs,
                loss,
                row["val_loss"],
                row["val_auroc"],
                row["val_auprc"],
                seconds,
                self.n_train * len(runs) / train_seconds,
            )
            run.rng_state = engine.rng_states[index]
            if run.finished or now - self.last_checkpoint[index] >= self.checkpoint_every:
                run.checkpoint.save(run)
                self.last_checkpoint[index] = now
            self._call("on_epoch_end", run, epoch, row)
            if not run.finished:
                going_on.append(index)
        return going_on


def _values(tensors) -> list:
    """Scalar tensors as numpy values, read from the device in one transfer."""
    if not tensors:
        return []
    return list(keras.ops.convert_to_numpy(keras.ops.stack(tensors)))


def _save_model(model, spec: TrainingSpec, length: int, tasks: int, path) -> None:
    """Write the trained model; one trained in mixed precision is saved as its float32 twin
    (same weights: mixed precision keeps them in float32), so that evaluation and attribution
    compute in float32."""
    if spec.precision != "float32":
        twin = spec_model(replace(spec, precision="float32"), length, tasks)
        twin.set_weights(model.get_weights())
        twin.compile(
            optimizer=keras.optimizers.Adam(spec.learning_rate), loss="binary_crossentropy"
        )
        twin.optimizer.build(twin.trainable_variables)
        for target, value in zip(twin.optimizer.variables, model.optimizer.variables, strict=True):
            target.assign(value)
        model = twin
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        model.save(tmp)


def train(
    spec: TrainingSpec,
    train_path,
    valid_path,
    model_path,
    history_path,
    checkpoint_path=None,
    callbacks=(),
    execution: Execution | None = None,
) -> pd.DataFrame:
    """Train one model and write ``model_path`` (.keras) and ``history_path`` (TSV).

    The model keeps the weights of the epoch with the lowest validation loss. Returns the
    history, one row per epoch with :data:`HISTORY_COLUMNS`. See :func:`train_runs` for
    ``callbacks`` and ``execution``.

    Parameters
    ----------
    checkpoint_path : path-like, optional
        Save the state after every epoch here (``.npz``) and, if a checkpoint of the same run is
        there at the start, resume from it (see :class:`Checkpoint`). Removed once the model and
        history are written.
    """
    files = RunFiles(spec, model_path, history_path, checkpoint_path)
    return train_runs([files], train_path, valid_path, execution, callbacks)[0]
