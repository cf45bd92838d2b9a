"""Training: Adam + binary cross-entropy, early stopping on validation loss, per-epoch history.

Batches are read from the uint8 sequences and one-hot encoded per batch; no float copy of a
whole split is made. With a seed (and :func:`sfcrepro.runtime.configure` asking for deterministic
ops) a CPU run gives the same weights every time.

With a checkpoint path, the state after each epoch is saved (:class:`EpochCheckpoint`): a job
killed mid-epoch resumes from the last finished epoch and ends with the same weights and history
as a run that was never stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from sfcrepro.config import TrainingSpec
from sfcrepro.datasets import nested_subset, read_dataset
from sfcrepro.evaluate import binary_crossentropy, predict, task_metrics
from sfcrepro.io import atomic_path, write_tsv
from sfcrepro.models import build_model
from sfcrepro.sequences import one_hot, reverse_complement

__all__ = [
    "EpochCheckpoint",
    "HISTORY_COLUMNS",
    "OneHotBatches",
    "TrainingSpec",
    "ValidationMetrics",
    "class_weights",
    "example_class_weights",
    "run_fingerprint",
    "spec_model",
    "train",
]

log = logging.getLogger("sfcrepro.train")
HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "val_auroc", "val_auprc", "seconds"]


def spec_model(spec: TrainingSpec, length: int, tasks: int) -> keras.Model:
    """The uncompiled model a spec trains, for inputs of ``length`` bp and ``tasks`` tasks.

    Passes the spec's head, curvature (strength and norm), SFC units (None: the paper's count,
    "matched": parameter-matched, see :mod:`sfcrepro.models`) and initializer to the builder.
    """
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
        ``[weight of 0, weight of 1]``, to pass as ``weights`` to :class:`OneHotBatches`, which
        gives each example the weight of its class.
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


class OneHotBatches(keras.utils.PyDataset):
    """Batches of one-hot sequences and labels from uint8 arrays (or h5 datasets).

    Rows are shuffled each epoch by a generator seeded with ``seed`` (when ``shuffle``);
    with ``reverse_complement`` each batch is doubled with its reverse complements. With
    ``weights`` (the weight of class 0 and 1, single task) each batch also carries per-example
    weights.
    """

    def __init__(
        self,
        sequences,
        labels,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        reverse_complement: bool = False,
        weights=None,
    ):
        super().__init__()
        if len(sequences) != len(labels):
            raise ValueError(f"{len(sequences)} sequences but {len(labels)} label rows.")
        self.sequences, self.labels = sequences, labels
        self.batch_size, self.shuffle = int(batch_size), shuffle
        self.reverse_complement = reverse_complement
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(sequences)) if shuffle else np.arange(len(sequences))

    def __len__(self) -> int:
        return math.ceil(len(self.sequences) / self.batch_size)

    def __getitem__(self, index: int):
        rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        tokens = np.asarray(self.sequences[rows])
        labels = np.asarray(self.labels[rows], dtype=np.float32)
        if self.reverse_complement:
            tokens = np.concatenate([tokens, reverse_complement(tokens)])
            labels = np.concatenate([labels, labels])
        if self.weights is not None:
            return one_hot(tokens), labels, self.weights[labels[:, 0].astype(np.int64)]
        return one_hot(tokens), labels

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.sequences))


class ValidationMetrics(keras.callbacks.Callback):
    """Adds ``val_loss``, ``val_auroc`` and ``val_auprc`` (task means) to each epoch's logs,
    from one pass over the validation split, logs a progress line, and stops on a NaN loss."""

    def __init__(self, sequences, labels, batch_size: int, max_epochs: int, name: str, seed: int):
        super().__init__()
        self.sequences, self.labels = sequences, np.asarray(labels)
        self.batch_size, self.max_epochs, self.name, self.seed = batch_size, max_epochs, name, seed

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        loss = logs.get("loss", np.nan)
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"{self.name} seed {self.seed}: training loss became {loss} in epoch {epoch + 1}. "
                "Lower the learning rate in the config for this variant."
            )
        scores = predict(self.model, self.sequences, self.batch_size)
        regularization = sum(float(keras.ops.convert_to_numpy(x)) for x in self.model.losses)
        auroc, auprc = task_metrics(self.labels, scores)
        logs["val_loss"] = binary_crossentropy(self.labels, scores) + regularization
        logs["val_auroc"] = float(np.nanmean(auroc)) if np.isfinite(auroc).any() else np.nan
        logs["val_auprc"] = float(np.nanmean(auprc)) if np.isfinite(auprc).any() else np.nan
        logs["seconds"] = time.perf_counter() - self._start
        log.info(
            "%s seed %d epoch %d/%d: loss %.4f val_loss %.4f val_auroc %.4f val_auprc %.4f (%.1f s)",
            self.name,
            self.seed,
            epoch + 1,
            self.max_epochs,
            loss,
            logs["val_loss"],
            logs["val_auroc"],
            logs["val_auprc"],
            logs["seconds"],
        )


class EpochCheckpoint(keras.callbacks.Callback):
    """Save everything a run needs to go on after each epoch, and restore it.

    One ``.npz`` file (no pickled objects), replaced atomically after each epoch, holds the model's
    variables (weights, batch-norm statistics and dropout seed states), the optimizer's (Adam's
    moments and step count), the early-stopping state with its best weights, the history so far,
    and a fingerprint of the run. A run restored from it continues with the next epoch, reshuffled
    as the uninterrupted run would have been, so on CPU it ends with the same weights and history.
    A checkpoint whose fingerprint differs (other settings, other input files, other Keras or
    backend) is not used: training starts afresh and replaces it after its first epoch.

    Keras' ``BackupAndRestore`` keeps the model and optimizer, but not other callbacks' state
    (early stopping's best weights and patience) nor the data order, so resuming with it would
    give a different model.

    Place it after ``stopper`` in the callback list: its ``on_train_begin`` must run after the
    stopper resets itself.

    Parameters
    ----------
    path : path-like or None
        The checkpoint file (``.npz``); None keeps the history in memory only.
    fingerprint : str
        Identifies the run (see :func:`run_fingerprint`).
    stopper : keras.callbacks.EarlyStopping
        The run's early stopping, whose state is saved and restored.
    """

    def __init__(self, path, fingerprint: str, stopper: keras.callbacks.EarlyStopping):
        super().__init__()
        self.path = None if path is None else Path(path)
        self.fingerprint, self.stopper = fingerprint, stopper
        self.rows: list[dict] = []
        self.finished = False
        self._restored: dict | None = None

    # -- saving -------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self._restored is not None:  # after the stopper reset itself
            state = self._restored
            self.stopper.wait, self.stopper.best = state["wait"], state["best"]
            self.stopper.best_epoch, self.stopper.best_weights = (
                state["best_epoch"],
                state["best_weights"],
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.rows.append(
            {"epoch": epoch + 1, **{k: float(logs[k]) for k in HISTORY_COLUMNS[1:] if k in logs}}
        )
        self.finished = bool(self.model.stop_training) or epoch + 1 >= self.params["epochs"]
        if self.path is not None:
            self.save()

    def save(self):
        stopper = self.stopper
        state = {
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "finished": self.finished,
            "wait": stopper.wait,
            "best": None if stopper.best is None else float(stopper.best),
            "best_epoch": stopper.best_epoch,
        }
        arrays = {"state": np.array(json.dumps(state))}
        arrays.update(
            {
                f"model_{i}": keras.ops.convert_to_numpy(v)
                for i, v in enumerate(self.model.variables)
            }
        )
        arrays.update(
            {
                f"optimizer_{i}": keras.ops.convert_to_numpy(v)
                for i, v in enumerate(self.model.optimizer.variables)
            }
        )
        arrays.update({f"best_{i}": w for i, w in enumerate(stopper.best_weights or [])})
        with atomic_path(self.path) as tmp:
            np.savez(tmp, **arrays)

    # -- restoring ----------------------------------------------------------------------------
    def restore(self, model: keras.Model) -> int:
        """Load the checkpoint into ``model`` (compiled, not yet trained); return the epochs done.

        Returns 0, and leaves ``model`` as it is, when there is no usable checkpoint.
        """
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
        if state["fingerprint"] != self.fingerprint:
            log.warning(
                "%s was saved by a run with other settings or inputs; training from the start.",
                self.path,
            )
            return 0
        model.optimizer.build(model.trainable_variables)
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
            pairs += zip(variables, saved, strict=False)
        for variable, value in pairs:  # only once everything matched
            variable.assign(value)
        state["best_weights"] = _numbered(arrays, "best") or None
        self._restored, self.rows, self.finished = state, state["rows"], state["finished"]
        return len(self.rows)

    @property
    def best_weights(self) -> list | None:
        """Early stopping's best weights as restored (None before :meth:`restore`)."""
        return None if self._restored is None else self._restored["best_weights"]

    def remove(self):
        """Delete the checkpoint (once the model and history are written)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _numbered(arrays: dict, prefix: str) -> list:
    """``arrays["<prefix>_0"]``, ``arrays["<prefix>_1"]``, ... in order."""
    return [arrays[f"{prefix}_{i}"] for i in range(sum(k.startswith(prefix + "_") for k in arrays))]


def run_fingerprint(spec: TrainingSpec, *inputs) -> str:
    """A hash of what determines a run: its spec, the input files (size and modification time),
    and the Keras version and backend."""
    files = [(str(Path(p).resolve()), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in inputs]
    text = json.dumps(
        [asdict(spec), files, keras.__version__, keras.backend.backend()], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def train(
    spec: TrainingSpec,
    train_path,
    valid_path,
    model_path,
    history_path,
    checkpoint_path=None,
    callbacks=(),
) -> pd.DataFrame:
    """Train one model and write ``model_path`` (.keras) and ``history_path`` (TSV).

    The model keeps the weights of the epoch with the lowest validation loss. Returns the
    history, one row per epoch with :data:`HISTORY_COLUMNS`.

    Parameters
    ----------
    checkpoint_path : path-like, optional
        Save the state after every epoch here (``.npz``) and, if a checkpoint of the same run is
        there at the start, resume from it (see :class:`EpochCheckpoint`). Removed once the
        model and history are written.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks, run after the built-in ones.
    """
    keras.utils.set_random_seed(spec.seed)
    train_x, train_y, tasks = read_dataset(train_path)
    valid_x, valid_y, valid_tasks = read_dataset(valid_path)
    if valid_tasks != tasks:
        raise ValueError(f"{valid_path} has tasks {valid_tasks}, but {train_path} has {tasks}.")
    if spec.train_per_class is not None:
        kept = nested_subset(train_y, spec.train_per_class, spec.seed)
        log.info(
            "%s seed %d: training subset of %d per class, %d of %d sequences",
            spec.name,
            spec.seed,
            spec.train_per_class,
            len(kept),
            len(train_x),
        )
        train_x, train_y = train_x[kept], train_y[kept]
    log.info(
        "%s seed %d: %d training and %d validation sequences of %d bp, tasks %s; %s",
        spec.name,
        spec.seed,
        len(train_x),
        len(valid_x),
        train_x.shape[1],
        ", ".join(tasks),
        asdict(spec),
    )

    model = spec_model(spec, length=train_x.shape[1], tasks=len(tasks))
    model.compile(optimizer=keras.optimizers.Adam(spec.learning_rate), loss="binary_crossentropy")
    log.info("%s: %s parameters", model.name, f"{model.count_params():,}")

    weights = example_class_weights(spec.class_weight, train_y)
    if weights is not None:
        log.info(
            "class weights (%s): negatives %.4g, positives %.4g",
            spec.class_weight,
            weights[0],
            weights[1],
        )
    batches = OneHotBatches(
        train_x,
        train_y,
        spec.batch_size,
        shuffle=True,
        seed=spec.seed,
        reverse_complement=spec.reverse_complement,
        weights=weights,
    )
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=spec.patience, restore_best_weights=True
    )
    metrics = ValidationMetrics(
        valid_x, valid_y, max(spec.batch_size, 500), spec.max_epochs, spec.name, spec.seed
    )
    checkpoint = EpochCheckpoint(
        checkpoint_path, run_fingerprint(spec, train_path, valid_path), stopper
    )
    done = checkpoint.restore(model)
    if done:
        log.info(
            "%s seed %d: resuming after epoch %d from %s",
            spec.name,
            spec.seed,
            done,
            checkpoint_path,
        )
    for _ in range(done):  # the data order of the next epoch, as the uninterrupted run has it
        batches.on_epoch_end()
    if checkpoint.finished:  # stopped after its last epoch, before the model was written
        model.set_weights(checkpoint.best_weights)
    else:
        # shuffle=False: the batches' own seeded permutation is the shuffle. Keras' would reorder
        # the batches with Python's global `random`, whose state a checkpoint cannot capture
        # (tf.data draws it from a prefetching thread).
        model.fit(
            batches,
            epochs=spec.max_epochs,
            initial_epoch=done,
            shuffle=False,
            verbose=0,
            callbacks=[metrics, stopper, checkpoint, *callbacks],
        )

    history = pd.DataFrame(checkpoint.rows)[HISTORY_COLUMNS]
    best = int(history["val_loss"].idxmin())
    log.info(
        "%s seed %d: best epoch %d of %d (val_loss %.4f, val_auroc %.4f)",
        spec.name,
        spec.seed,
        best + 1,
        len(history),
        history.loc[best, "val_loss"],
        history.loc[best, "val_auroc"],
    )

    Path(history_path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    write_tsv(history, history_path, float_format="%.6g")
    checkpoint.remove()
    return history
