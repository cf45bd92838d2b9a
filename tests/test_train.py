"""Tests of sfcrepro.train on a tiny simulated dataset."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfcrepro.config import training_settings
from sfcrepro.datasets import read_dataset, write_dataset
from sfcrepro.evaluate import binary_crossentropy, predict
from sfcrepro.models import load_model
from sfcrepro.motifs import read_motifs
from sfcrepro.sequences import reverse_complement
from sfcrepro.simulate import simulate_tf_binding, split_rng
from sfcrepro.train import (
    HISTORY_COLUMNS,
    OneHotBatches,
    TrainingSpec,
    example_class_weights,
    spec_model,
    train,
)

# Deterministic kernels and seed 0 for this test process: conftest.keras_runtime, set up before
# the first test of this module (not at import).
pytestmark = pytest.mark.usefixtures("keras_runtime")
MOTIFS = read_motifs(Path(__file__).with_name("data") / "encode_motifs.subset.txt")


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    paths = {}
    for split, n in (("train", 40), ("valid", 15)):
        data = simulate_tf_binding(
            MOTIFS["TAL1_known1"], MOTIFS["GATA_disc1"], n, split_rng(5, split)
        )
        paths[split] = root / f"{split}.h5"
        write_dataset(paths[split], data.sequences, data.labels, data.tasks)
    return paths


def test_batches_cover_every_row_once_per_epoch_and_reshuffle():
    seqs = np.arange(10, dtype=np.uint8)[:, None].repeat(3, axis=1) % 4
    labels = np.arange(10, dtype=np.uint8)[:, None]
    batches = OneHotBatches(seqs, labels, batch_size=4, seed=1)
    assert len(batches) == 3
    first = np.concatenate([batches[i][1][:, 0] for i in range(3)])
    assert sorted(first.tolist()) == list(range(10))
    batches.on_epoch_end()
    second = np.concatenate([batches[i][1][:, 0] for i in range(3)])
    assert sorted(second.tolist()) == list(range(10)) and not np.array_equal(first, second)
    again = OneHotBatches(seqs, labels, batch_size=4, seed=1)
    np.testing.assert_array_equal(np.concatenate([again[i][1][:, 0] for i in range(3)]), first)
    x, y = batches[0]
    assert x.shape == (4, 3, 4) and x.dtype == np.float32 and y.dtype == np.float32


def test_reverse_complement_doubles_each_batch():
    seqs = np.array([[0, 1, 2], [3, 3, 0]], dtype=np.uint8)
    x, y = OneHotBatches(
        seqs, np.array([[1], [0]]), batch_size=2, shuffle=False, reverse_complement=True
    )[0]
    assert x.shape == (4, 3, 4) and y[:, 0].tolist() == [1, 0, 1, 0]
    np.testing.assert_array_equal(x[2].argmax(-1), reverse_complement(seqs[0]))


def run(splits, out, **overrides):
    spec = TrainingSpec(
        **{
            **dict(
                architecture="simulated_tf",
                head="symm",
                seed=3,
                units=8,
                curvature=1.0,
                batch_size=32,
                max_epochs=4,
                patience=1,
                name="sim/symm",
            ),
            **overrides,
        }
    )
    history = train(
        spec, splits["train"], splits["valid"], out / "model.keras", out / "history.tsv"
    )
    return spec, history


def test_train_writes_model_and_history_and_keeps_best_epoch(splits, tmp_path):
    _, history = run(splits, tmp_path)
    saved = pd.read_csv(tmp_path / "history.tsv", sep="\t")
    assert list(saved.columns) == HISTORY_COLUMNS
    assert saved["epoch"].tolist() == list(range(1, len(saved) + 1))
    assert saved[["val_auroc", "val_auprc"]].notna().all().all()
    model = load_model(tmp_path / "model.keras")
    seqs, labels, _ = read_dataset(splits["valid"])
    reg = sum(float(np.asarray(x)) for x in model.losses)
    val_loss = binary_crossentropy(labels, predict(model, seqs)) + reg
    assert val_loss == pytest.approx(saved["val_loss"].min(), rel=1e-4)  # best epoch's weights


def test_same_seed_same_weights(splits, tmp_path):
    run(splits, tmp_path / "a", max_epochs=2)
    run(splits, tmp_path / "b", max_epochs=2)
    run(splits, tmp_path / "c", max_epochs=2, seed=4)
    a, b, c = (load_model(tmp_path / x / "model.keras").get_weights() for x in "abc")
    for wa, wb in zip(a, b, strict=False):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a, c, strict=False))
    ha, hb = (
        pd.read_csv(tmp_path / x / "history.tsv", sep="\t").drop(columns="seconds") for x in "ab"
    )
    pd.testing.assert_frame_equal(ha, hb)


def test_training_settings_from_config():
    dataset = {
        "architecture": "basset",
        "training": {"learning_rate": 1e-3, "batch_size": 64, "max_epochs": 9},
        "variants": {
            "std_slow": {"head": "std", "learning_rate": 1e-4},
            "high_reg": {"head": "symm", "curvature": 10.0, "units": 1000},
        },
    }
    slow = training_settings(dataset, "std_slow", 2, "d/std_slow")
    assert (slow["learning_rate"], slow["batch_size"], slow["max_epochs"], slow["patience"]) == (
        1e-4,
        64,
        9,
        5,
    )
    reg = TrainingSpec(**training_settings(dataset, "high_reg", 0, "d/high_reg"))
    assert (reg.head, reg.curvature, reg.units, reg.learning_rate) == ("symm", 10.0, 1000, 1e-3)


def test_curvature_norm_reaches_the_trained_model(splits, tmp_path):
    dataset = {
        "architecture": "simulated_tf",
        "training": {"batch_size": 32, "max_epochs": 1},
        "variants": {
            "symm_l1": {"head": "symm", "units": 8, "curvature": 1.0},
            "symm_l2": {"head": "symm", "units": 8, "curvature": 1.0, "curvature_norm": "l2"},
        },
    }
    l1 = training_settings(dataset, "symm_l1", 0, "d/symm_l1")
    l2 = training_settings(dataset, "symm_l2", 0, "d/symm_l2")
    assert {k: v for k, v in l1.items() if k != "name"} != {
        k: v for k, v in l2.items() if k != "name"
    }  # retrains
    assert TrainingSpec(**l1).curvature_norm == "l1" and TrainingSpec(**l2).curvature_norm == "l2"
    train(
        TrainingSpec(**l2),
        splits["train"],
        splits["valid"],
        tmp_path / "model.keras",
        tmp_path / "history.tsv",
    )
    regularizer = load_model(tmp_path / "model.keras").get_layer("sfc").positional_regularizer
    assert (regularizer.norm, regularizer.strength) == ("l2", 1.0)


def test_units_from_the_config_follow_the_builders_rule():
    dataset = {
        "architecture": "basset",
        "training": {},
        "variants": {
            "none": {"head": "sep", "units": None},
            "absent": {"head": "symm"},
            "matched": {"head": "sep", "units": "matched"},
            "given": {"head": "sep", "units": 40},
        },
    }
    units = {
        variant: spec_model(
            TrainingSpec(**training_settings(dataset, variant, 0, variant)), 1000, 2
        )
        .get_layer("sfc")
        .units
        for variant in dataset["variants"]
    }
    # None / absent: the paper's 1000 (not the parameter-matched 3,439 = 4,200,000 // 1,221)
    assert units == {"none": 1000, "absent": 1000, "matched": 3439, "given": 40}
    dataset["architecture"] = "tf_binding"
    units = {
        variant: spec_model(
            TrainingSpec(**training_settings(dataset, variant, 0, variant)), 1000, 1
        )
        .get_layer("sfc")
        .units
        for variant in dataset["variants"]
    }
    assert units == {"none": 18, "absent": 18, "matched": 11, "given": 40}


def test_positive_class_weight_as_the_original():
    # The original's Keras class_weight={0: 1, 1: w}: from the config's {positive: w} to each
    # example's weight in a batch.
    dataset = {
        "architecture": "tf_binding",
        "training": {"class_weight": {"positive": 5}},
        "variants": {"std": {"head": "std"}},
    }
    spec = TrainingSpec(**training_settings(dataset, "std", 0, "d/std"))
    labels = np.array([[1], [0], [0], [1], [0]], dtype=np.uint8)
    weights = example_class_weights(spec.class_weight, labels)
    np.testing.assert_array_equal(weights, [1, 5])
    _, _, w = OneHotBatches(
        np.zeros((5, 5), np.uint8), labels, batch_size=5, shuffle=False, weights=weights
    )[0]
    np.testing.assert_array_equal(w, [5, 1, 1, 5, 1])
    assert example_class_weights(None, labels) is None
    np.testing.assert_allclose(example_class_weights("balanced", labels), [5 / 6, 5 / 4])
    for bad in ({"positive": -1}, {"positive": 0}, {"negative": 2}, "auto"):
        with pytest.raises(ValueError, match="class_weight"):
            example_class_weights(bad, labels)


def test_balanced_class_weights_and_weighted_batches():
    from sfcrepro.train import class_weights

    labels = np.array([[1], [0], [0], [0]], dtype=np.uint8)
    weights = class_weights(labels)
    np.testing.assert_allclose(
        weights, [4 / 6, 4 / 2]
    )  # n / (2 n_class): each class carries half the loss
    x, y, w = OneHotBatches(
        np.zeros((4, 5), np.uint8), labels, batch_size=4, shuffle=False, weights=weights
    )[0]
    np.testing.assert_allclose(w, [2, 4 / 6, 4 / 6, 4 / 6])
    assert x.shape == (4, 5, 4) and y[:, 0].tolist() == [1, 0, 0, 0]
    with pytest.raises(ValueError, match="both classes"):
        class_weights(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="one task"):
        class_weights(np.zeros((3, 2)))


def test_class_weight_changes_training(splits, tmp_path):
    # A single-task copy of the simulated data (task "both": a quarter positive); class weights
    # must reach the loss.
    single = {}
    for split, path in splits.items():
        seqs, labels, tasks = read_dataset(path)
        single[split] = tmp_path / f"{split}.h5"
        write_dataset(single[split], seqs, labels[:, :1], tasks[:1])
    _, plain = run(single, tmp_path / "plain", max_epochs=1, curvature=0.0)
    _, weighted = run(
        single, tmp_path / "weighted", max_epochs=1, curvature=0.0, class_weight="balanced"
    )
    assert plain["loss"].iloc[0] != pytest.approx(weighted["loss"].iloc[0], rel=1e-4)
    _, positive = run(
        single, tmp_path / "positive", max_epochs=1, curvature=0.0, class_weight={"positive": 5}
    )
    assert positive["loss"].iloc[0] > plain["loss"].iloc[0]  # positives weigh 5, negatives 1
    with pytest.raises(ValueError, match="class_weight"):
        run(single, tmp_path / "bad", max_epochs=1, class_weight="auto")


# A training run in its own process that kills itself (SIGKILL: no clean-up of any kind) at a
# given point; the test then reruns it in this process from its checkpoint.
KILLED_RUN = """
import os, signal, sys
import keras
from sfcrepro.runtime import configure
configure(seed=0)
from sfcrepro.train import TrainingSpec, train

class Kill(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if {where!r} == "mid-epoch" and self.epoch == 2 and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_end(self, logs=None):
        if {where!r} == "after the last epoch":
            os.kill(os.getpid(), signal.SIGKILL)

train(TrainingSpec(**{spec!r}), {train!r}, {valid!r}, {out!r} + "/model.keras", {out!r} + "/history.tsv",
      checkpoint_path={out!r} + "/resume.npz", callbacks=[Kill()])
"""


@pytest.mark.parametrize("where", ["mid-epoch", "after the last epoch"])
def test_killed_run_resumes_to_the_same_weights_and_history(splits, tmp_path, where, caplog):
    import dataclasses
    import signal
    import subprocess
    import sys

    # basset-free but with dropout (seed state), an SFC head and Adam: everything a checkpoint keeps
    spec = TrainingSpec(
        architecture="simulated_tf",
        head="sep",
        seed=3,
        units=8,
        curvature=1.0,
        batch_size=32,
        max_epochs=5,
        patience=2,
        name="sim/sep",
    )
    reference = train(
        spec,
        splits["train"],
        splits["valid"],
        tmp_path / "ref" / "model.keras",
        tmp_path / "ref" / "history.tsv",
    )
    out = tmp_path / "killed"
    out.mkdir()
    script = KILLED_RUN.format(
        where=where,
        spec=dataclasses.asdict(spec),
        train=str(splits["train"]),
        valid=str(splits["valid"]),
        out=str(out),
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (out / "model.keras").exists() and (out / "resume.npz").exists()

    with caplog.at_level(logging.INFO, logger="sfcrepro.train"):
        resumed = train(
            spec,
            splits["train"],
            splits["valid"],
            out / "model.keras",
            out / "history.tsv",
            checkpoint_path=out / "resume.npz",
        )
    done = 2 if where == "mid-epoch" else len(reference)
    assert (
        f"sim/sep seed 3: resuming after epoch {done} from {out / 'resume.npz'}" in caplog.messages
    )
    assert not (out / "resume.npz").exists()  # removed once the model is written
    pd.testing.assert_frame_equal(
        resumed.drop(columns="seconds"), reference.drop(columns="seconds")
    )
    for a, b in zip(
        load_model(out / "model.keras").get_weights(),
        load_model(tmp_path / "ref" / "model.keras").get_weights(),
        strict=False,
    ):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_of_other_settings_is_not_resumed(splits, tmp_path):
    spec = TrainingSpec(
        architecture="simulated_tf", head="std", seed=1, batch_size=32, max_epochs=1, name="s"
    )
    from sfcrepro.train import EpochCheckpoint, run_fingerprint

    stale = tmp_path / "resume.npz"
    stopper = __import__("keras").callbacks.EarlyStopping()
    assert run_fingerprint(spec, splits["train"]) != run_fingerprint(
        TrainingSpec(**{**spec.__dict__, "learning_rate": 0.01}), splits["train"]
    )
    np.savez(stale, state=np.array('{"fingerprint": "other", "rows": [], "finished": true}'))
    assert (
        EpochCheckpoint(
            stale, run_fingerprint(spec, splits["train"], splits["valid"]), stopper
        ).restore(None)
        == 0
    )
    history = train(
        spec,
        splits["train"],
        splits["valid"],
        tmp_path / "m.keras",
        tmp_path / "h.tsv",
        checkpoint_path=stale,
    )
    assert history["epoch"].tolist() == [1] and not stale.exists()


def test_nan_loss_stops_naming_variant_seed_and_epoch(splits, tmp_path):
    import keras

    class Poison(keras.callbacks.Callback):  # weights become NaN during the second epoch
        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 1 and batch == 1:
                kernel = self.model.get_layer("logits").kernel
                kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    spec = TrainingSpec(
        architecture="simulated_tf",
        head="sep",
        seed=3,
        units=8,
        batch_size=32,
        max_epochs=4,
        name="sim_tf/sep",
    )
    with pytest.raises(
        FloatingPointError,
        match=r"^sim_tf/sep seed 3: training loss became nan in epoch 2\. "
        r"Lower the learning rate",
    ):
        train(
            spec,
            splits["train"],
            splits["valid"],
            tmp_path / "model.keras",
            tmp_path / "history.tsv",
            checkpoint_path=tmp_path / "resume.npz",
            callbacks=[Poison()],
        )
    assert not (tmp_path / "model.keras").exists() and not (tmp_path / "history.tsv").exists()
