"""Training: Adam + binary cross-entropy, early stopping on validation loss, per-epoch history.

Batches are read from the uint8 sequences and one-hot encoded per batch; no float copy of a
whole split is made. With a seed (and :func:`sfcrepro.runtime.configure` asking for deterministic
ops) a CPU run gives the same weights every time.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from sfcrepro.datasets import atomic_path, read_dataset
from sfcrepro.evaluate import binary_crossentropy, predict, task_metrics
from sfcrepro.models import build_model
from sfcrepro.sequences import one_hot, reverse_complement

__all__ = ["HISTORY_COLUMNS", "OneHotBatches", "TrainingSpec", "ValidationMetrics", "class_weights", "train"]

log = logging.getLogger("sfcrepro.train")
HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "val_auroc", "val_auprc", "seconds"]


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
    units: int | None = None
    curvature: float = 0.0
    initializer: str = "paper"
    reverse_complement: bool = False
    class_weight: str | None = None  # "balanced": see class_weights()
    name: str = "model"  # for messages: dataset/variant


def class_weights(labels) -> np.ndarray:
    """Weights of class 0 and 1 of a single-task label vector, ``n / (2 n_class)``.

    This is scikit-learn's ``balanced`` rule: each class then carries half of the loss. It is
    how in vivo TF binding (about one positive per several negatives) is trained: the original
    work trained with Keras class weights; the exact weights it used are not published, and any
    weights proportional to these give the same optimum up to the loss scale.
    """
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.asarray(labels).reshape(len(labels), -1)
    if labels.shape[1] != 1:
        raise ValueError(f"class weights need one task, got {labels.shape[1]}.")
    present = np.unique(labels)
    if not np.array_equal(present, [0, 1]):
        raise ValueError(f"class weights need both classes in the training split; it has only {present.tolist()}.")
    return compute_class_weight("balanced", classes=np.array([0, 1]), y=labels[:, 0])


class OneHotBatches(keras.utils.PyDataset):
    """Batches of one-hot sequences and labels from uint8 arrays (or h5 datasets).

    Rows are shuffled each epoch by a generator seeded with ``seed`` (when ``shuffle``);
    with ``reverse_complement`` each batch is doubled with its reverse complements. With
    ``weights`` (the weight of class 0 and 1, single task) each batch also carries per-example
    weights.
    """

    def __init__(self, sequences, labels, batch_size: int, shuffle: bool = True, seed: int = 0,
                 reverse_complement: bool = False, weights=None):
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
            self.name, self.seed, epoch + 1, self.max_epochs, loss, logs["val_loss"],
            logs["val_auroc"], logs["val_auprc"], logs["seconds"],
        )


def train(spec: TrainingSpec, train_path, valid_path, model_path, history_path) -> pd.DataFrame:
    """Train one model and write ``model_path`` (.keras) and ``history_path`` (TSV).

    The model keeps the weights of the epoch with the lowest validation loss. Returns the
    history, one row per epoch with :data:`HISTORY_COLUMNS`.
    """
    keras.utils.set_random_seed(spec.seed)
    train_x, train_y, tasks = read_dataset(train_path)
    valid_x, valid_y, valid_tasks = read_dataset(valid_path)
    if valid_tasks != tasks:
        raise ValueError(f"{valid_path} has tasks {valid_tasks}, but {train_path} has {tasks}.")
    log.info("%s seed %d: %d training and %d validation sequences of %d bp, tasks %s; %s",
             spec.name, spec.seed, len(train_x), len(valid_x), train_x.shape[1], ", ".join(tasks),
             asdict(spec))

    model = build_model(spec.architecture, head=spec.head, length=train_x.shape[1], tasks=len(tasks),
                        curvature=spec.curvature, units=spec.units, initializer=spec.initializer)
    model.compile(optimizer=keras.optimizers.Adam(spec.learning_rate), loss="binary_crossentropy")
    log.info("%s: %s parameters", model.name, f"{model.count_params():,}")

    weights = None
    if spec.class_weight == "balanced":
        weights = class_weights(train_y)
        log.info("class weights (balanced): negatives %.4g, positives %.4g", weights[0], weights[1])
    elif spec.class_weight is not None:
        raise ValueError(f"class_weight must be 'balanced' or None, got {spec.class_weight!r}.")
    batches = OneHotBatches(train_x, train_y, spec.batch_size, shuffle=True, seed=spec.seed,
                            reverse_complement=spec.reverse_complement, weights=weights)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=spec.patience,
                                            restore_best_weights=True)
    metrics = ValidationMetrics(valid_x, valid_y, max(spec.batch_size, 500), spec.max_epochs, spec.name, spec.seed)
    fit = model.fit(batches, epochs=spec.max_epochs, callbacks=[metrics, stopper], verbose=0)

    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history = history[HISTORY_COLUMNS]
    best = int(history["val_loss"].idxmin())
    log.info("%s seed %d: best epoch %d of %d (val_loss %.4f, val_auroc %.4f)", spec.name, spec.seed,
             best + 1, len(history), history.loc[best, "val_loss"], history.loc[best, "val_auroc"])

    Path(history_path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    with atomic_path(history_path) as tmp:
        history.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return history
