"""Tests of sfcrepro.pipeline.train on a tiny simulated dataset."""

import logging
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from sfcrepro.data.datasets import read_dataset, write_dataset
from sfcrepro.data.motifs import read_motifs
from sfcrepro.data.simulate import simulate_tf_binding, split_rng
from sfcrepro.network.models import load_model
from sfcrepro.pipeline.engine import one_hot_batch
from sfcrepro.pipeline.evaluate import binary_crossentropy, predict
from sfcrepro.pipeline.settings import training_settings
from sfcrepro.pipeline.train import (
    HISTORY_COLUMNS,
    Execution,
    RunFiles,
    TrainingSpec,
    batch_rows,
    example_class_weights,
    spec_model,
    train,
    train_runs,
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


def test_batches_cover_every_row_once_with_rows_sorted_in_each_batch():
    order = np.random.default_rng(1).permutation(10)
    full, last = batch_rows(order, 4)
    assert full.shape == (2, 4) and last.shape == (2,)
    assert sorted(np.concatenate([full.ravel(), last]).tolist()) == list(range(10))
    assert all((np.diff(b) > 0).all() for b in full) and last[0] < last[1]
    np.testing.assert_array_equal(np.sort(full[0]), np.sort(order[:4]))  # the order's batches
    full, last = batch_rows(order, 5)
    assert full.shape == (2, 5) and last is None


# A small symmetric SFC model with curvature regularisation: the runs of these tests.
SPEC = dict(
    architecture="simulated_tf",
    head="symm",
    seed=3,
    units=8,
    curvature=1.0,
    batch_size=32,
    max_epochs=4,
    patience=1,
    name="sim/symm",
)


def run(splits, out, **overrides):
    spec = TrainingSpec(**{**SPEC, **overrides})
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
    _, _, w = one_hot_batch(np.zeros((5, 5), np.uint8), labels, np.arange(5), weights)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), [5, 1, 1, 5, 1])
    assert example_class_weights(None, labels) is None
    np.testing.assert_allclose(example_class_weights("balanced", labels), [5 / 6, 5 / 4])
    for bad in ({"positive": -1}, {"positive": 0}, {"negative": 2}, "auto"):
        with pytest.raises(ValueError, match="class_weight"):
            example_class_weights(bad, labels)


def test_balanced_class_weights_and_weighted_batches():
    from sfcrepro.pipeline.train import class_weights

    labels = np.array([[1], [0], [0], [0]], dtype=np.uint8)
    weights = class_weights(labels)
    np.testing.assert_allclose(
        weights, [4 / 6, 4 / 2]
    )  # n / (2 n_class): each class carries half the loss
    x, y, w = (
        keras.ops.convert_to_numpy(t)
        for t in one_hot_batch(np.zeros((4, 5), np.uint8), labels, np.arange(4), weights)
    )
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
from sfcrepro.pipeline import train as training
from sfcrepro.pipeline.runtime import configure
configure(seed=0)
from sfcrepro.pipeline.train import Execution, TrainingSpec, train

clock = [0.0]  # "an older checkpoint": epoch e starts at 100 e s, checkpoints every 150 s
training.checkpoint_clock = lambda: clock[0]

class Kill:
    def on_epoch_begin(self, run, epoch):
        clock[0] = 100.0 * (epoch + 1)
    def on_steps_end(self, run, epoch, steps):  # after the first of the epoch's two steps
        if {where!r}.startswith("mid-epoch") and epoch == {kill_epoch} and steps == 1:
            os.kill(os.getpid(), signal.SIGKILL)
    def on_train_end(self, run):  # before the model is written
        if {where!r} == "after the last epoch":
            os.kill(os.getpid(), signal.SIGKILL)

train(TrainingSpec(**{spec!r}), {train!r}, {valid!r}, {out!r} + "/model.keras", {out!r} + "/history.tsv",
      checkpoint_path={out!r} + "/resume.npz", callbacks=[Kill()],
      execution=Execution(steps_per_execution=1, checkpoint_every={every}))
"""


@pytest.mark.parametrize(
    "where", ["mid-epoch", "after the last epoch", "mid-epoch, an older checkpoint"]
)
def test_killed_run_resumes_to_the_same_weights_and_history(splits, tmp_path, where, caplog):
    import dataclasses
    import signal
    import subprocess
    import sys

    # basset-free but with dropout (seed state), an SFC head and Adam: everything a checkpoint keeps
    spec = TrainingSpec(
        **{**SPEC, "head": "sep", "max_epochs": 5, "patience": 2, "name": "sim/sep"}
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
    # every epoch's checkpoint, or one every 150 s of the fake clock: after epoch 2 (at 200 s),
    # not after epoch 3 (300 s), killed in epoch 4
    older = where.endswith("older checkpoint")
    assert len(reference) >= 4
    script = KILLED_RUN.format(
        where=where,
        kill_epoch=3 if older else 2,
        every=150 if older else 0,
        spec=dataclasses.asdict(spec),
        train=str(splits["train"]),
        valid=str(splits["valid"]),
        out=str(out),
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (out / "model.keras").exists() and (out / "resume.npz").exists()

    with caplog.at_level(logging.INFO, logger="sfcrepro.pipeline.train"):
        resumed = train(
            spec,
            splits["train"],
            splits["valid"],
            out / "model.keras",
            out / "history.tsv",
            checkpoint_path=out / "resume.npz",
        )
    done = 2 if where.startswith("mid-epoch") else len(reference)
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


@pytest.mark.parametrize("every,saved", [(0, [1, 2, 3, 4]), (250, [3, 4]), (3600, [4])])
def test_checkpoints_at_the_interval_and_at_the_last_epoch(
    splits, tmp_path, monkeypatch, every, saved
):
    # epoch e ends at 100 (e + 1) s of a fake clock: with 250 s between checkpoints the first is
    # after the third epoch; the last epoch's is always written (the run's final state)
    from sfcrepro.pipeline import train as training

    clock, epochs = [0.0], []
    monkeypatch.setattr(training, "checkpoint_clock", lambda: clock[0])
    save = training.Checkpoint.save
    monkeypatch.setattr(
        training.Checkpoint,
        "save",
        lambda self, run: (epochs.append(run.epochs_done), save(self, run)),
    )

    class Tick:
        def on_steps_end(self, run, epoch, steps):
            clock[0] = 100.0 * (epoch + 1)

    spec = TrainingSpec(**{**SPEC, "head": "sep", "max_epochs": 4, "patience": 10})
    history = train(
        spec,
        splits["train"],
        splits["valid"],
        tmp_path / "m.keras",
        tmp_path / "h.tsv",
        checkpoint_path=tmp_path / "resume.npz",
        callbacks=[Tick()],
        execution=Execution(checkpoint_every=every),
    )
    assert len(history) == 4 and epochs == saved
    assert not (tmp_path / "resume.npz").exists()


def test_steps_per_execution_auto_is_an_epoch_for_small_models_and_one_step_for_large():
    from sfcrepro.network.models import build_model

    small = build_model("simulated_tf", head="sep", length=200, tasks=2)
    large = build_model("basset", head="sep", length=1000, tasks=3)
    assert Execution().resolve(small)["steps"] is None  # None: the whole epoch in one call
    assert Execution().resolve(large)["steps"] == 1
    assert Execution(steps_per_execution=7).resolve(small)["steps"] == 7


def test_xla_is_turned_off_when_tensorflow_op_determinism_is_on(caplog):
    # this test process runs with op determinism (conftest.keras_runtime, as jobs on a CPU)
    from sfcrepro.network.models import build_model

    model = build_model("simulated_tf", head="sep", length=200, tasks=2)
    with caplog.at_level(logging.WARNING, logger="sfcrepro.pipeline.train"):
        assert Execution(jit_compile=True).resolve(model)["jit_compile"] is False
    assert "XLA has no deterministic max-pooling gradient" in caplog.text


def test_checkpoint_of_other_settings_is_not_resumed(splits, tmp_path):
    spec = TrainingSpec(
        architecture="simulated_tf", head="std", seed=1, batch_size=32, max_epochs=1, name="s"
    )
    from sfcrepro.pipeline.train import Checkpoint, run_fingerprint

    stale = tmp_path / "resume.npz"
    assert run_fingerprint(spec, splits["train"]) != run_fingerprint(
        TrainingSpec(**{**spec.__dict__, "learning_rate": 0.01}), splits["train"]
    )
    np.savez(stale, state=np.array('{"fingerprint": "other", "rows": [], "finished": true}'))
    assert (
        Checkpoint(stale, run_fingerprint(spec, splits["train"], splits["valid"])).restore(None)
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
    class Poison:  # weights become NaN at the start of the second epoch
        def on_epoch_begin(self, run, epoch):
            if epoch == 1:
                kernel = run.model.get_layer("logits").kernel
                kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))

    spec = TrainingSpec(
        **{**SPEC, "head": "sep", "curvature": 0.0, "patience": 5, "name": "sim_tf/sep"}
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


def seed_runs(out, seeds, **overrides):
    settings = {**SPEC, "batch_size": 16, "max_epochs": 3, **overrides}
    return [
        RunFiles(
            TrainingSpec(**{**settings, "seed": seed}),
            out / f"seed{seed}" / "model.keras",
            out / f"seed{seed}" / "history.tsv",
            out / f"seed{seed}" / "resume.npz",
        )
        for seed in seeds
    ]


def assert_same_models(a_dir, b_dir, seeds):
    for seed in seeds:
        a = load_model(a_dir / f"seed{seed}" / "model.keras").get_weights()
        b = load_model(b_dir / f"seed{seed}" / "model.keras").get_weights()
        for wa, wb in zip(a, b, strict=True):
            np.testing.assert_array_equal(wa, wb)
        ha, hb = (
            pd.read_csv(d / f"seed{seed}" / "history.tsv", sep="\t").drop(columns="seconds")
            for d in (a_dir, b_dir)
        )
        pd.testing.assert_frame_equal(ha, hb)


@pytest.mark.parametrize("together", [False, True])
def test_seeds_trained_in_one_process_get_the_models_they_get_alone(splits, tmp_path, together):
    # Three seeds in one process (one pipeline job), one after another or stepped together in
    # one compiled program: each seed's weights and history are those of training it alone.
    # Seed 4 trains on a subset, so that each run also has its own rows.
    seeds = (3, 4, 5)
    for run in seed_runs(tmp_path / "alone", seeds):
        train(run.spec, splits["train"], splits["valid"], run.model, run.history)
    histories = train_runs(
        seed_runs(tmp_path / "job", seeds),
        splits["train"],
        splits["valid"],
        Execution(together=together),
    )
    assert [len(h) for h in histories] == [
        len(pd.read_csv(tmp_path / "alone" / f"seed{s}" / "history.tsv", sep="\t")) for s in seeds
    ]
    assert_same_models(tmp_path / "alone", tmp_path / "job", seeds)
    assert not list((tmp_path / "job").rglob("resume.npz"))


def test_runs_of_one_process_may_differ_only_in_seed(splits, tmp_path):
    runs = seed_runs(tmp_path, (0,)) + seed_runs(tmp_path / "b", (1,), learning_rate=0.01)
    with pytest.raises(ValueError, match="differ only in seed and name.*learning_rate"):
        train_runs(runs, splits["train"], splits["valid"])
    with pytest.raises(ValueError, match="Seeds given twice"):
        train_runs(seed_runs(tmp_path, (0,)) * 2, splits["train"], splits["valid"])


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"together": "yes"}, "execution.together must be auto, true or false"),
        ({"jit_compile": 1}, "execution.jit_compile must be auto, true or false"),
        ({"steps_per_execution": 0}, "execution.steps_per_execution must be auto or an integer"),
        ({"steps_per_execution": 1.5}, "execution.steps_per_execution"),
        ({"steps_per_execution": "epoch"}, "execution.steps_per_execution"),
        ({"checkpoint_every": -1}, "execution.checkpoint_every must be a number of seconds >= 0"),
        ({"checkpoint_every": "5m"}, "execution.checkpoint_every"),
        ({"seeds_per_job": 2, "stack": True}, "Unknown execution keys: stack"),
    ],
)
def test_bad_execution_settings_name_the_key(settings, message):
    with pytest.raises(ValueError, match=message):
        Execution.from_config(settings)


def test_mixed_bfloat16_trains_and_saves_a_float32_model(splits, tmp_path):
    spec, history = run(splits, tmp_path, max_epochs=2, precision="mixed_bfloat16")
    assert np.isfinite(history["loss"]).all() and history["val_auroc"].between(0, 1).all()
    model = load_model(tmp_path / "model.keras")
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert spec_model(spec, 200, 3).get_layer("conv1").compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    with pytest.raises(ValueError, match="precision must be one of float32, mixed_bfloat16"):
        spec_model(TrainingSpec(**{**spec.__dict__, "precision": "float16"}), 200, 3)


KILLED_JOB = """
import os, signal
from pathlib import Path
from sfcrepro.pipeline.runtime import configure
configure(seed=0)
from sfcrepro.pipeline.train import Execution, RunFiles, TrainingSpec, train_runs

class Kill:  # in the second seed's second epoch, after the first seed is written
    def on_steps_end(self, run, epoch, steps):
        if run.spec.seed == 4 and epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)

runs = [RunFiles(TrainingSpec(**spec), *paths) for spec, paths in {runs!r}]
train_runs(runs, {train!r}, {valid!r}, callbacks=[Kill()], execution=Execution(checkpoint_every=0))
"""


def test_killed_job_of_several_seeds_resumes_each_to_its_model_alone(splits, tmp_path):
    import dataclasses
    import signal
    import subprocess
    import sys

    seeds = (3, 4)
    for files in seed_runs(tmp_path / "alone", seeds):
        train(files.spec, splits["train"], splits["valid"], files.model, files.history)
    runs = seed_runs(tmp_path / "job", seeds)
    script = KILLED_JOB.format(
        runs=[
            (dataclasses.asdict(r.spec), [str(r.model), str(r.history), str(r.checkpoint)])
            for r in runs
        ],
        train=str(splits["train"]),
        valid=str(splits["valid"]),
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # Seed 3 finished (its checkpoint kept until the whole job ends), seed 4 did one epoch.
    assert not any(r.model.exists() for r in runs)  # models are written at the end of the job
    assert all(r.checkpoint.exists() for r in runs)
    train_runs(runs, splits["train"], splits["valid"])
    assert_same_models(tmp_path / "alone", tmp_path / "job", seeds)


def test_training_equals_keras_fit_on_the_same_batches(splits, tmp_path):
    # The training loop before sfcrepro.pipeline.engine: Keras model.fit on a PyDataset that one-hot
    # encodes each batch of a seeded permutation (rows sorted in the batch), reshuffled after
    # each epoch, and whose first permutation Keras' loop consumed before the first epoch.
    # Weights after each epoch and the reported losses equal the engine's bit for bit on CPU.
    from sfcrepro.data.sequences import one_hot

    class Batches(keras.utils.PyDataset):
        def __init__(self, x, y, batch, seed):
            super().__init__()
            self.x, self.y, self.batch = x, y.astype(np.float32), batch
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(x))

        def __len__(self):
            return -(-len(self.x) // self.batch)

        def __getitem__(self, index):
            rows = np.sort(self.order[index * self.batch : (index + 1) * self.batch])
            return one_hot(self.x[rows]), self.y[rows]

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(self.x))

    class Weights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.after = []

        def on_epoch_end(self, epoch, logs=None):
            self.after.append((logs["loss"], self.model.get_weights()))

    spec, history = run(splits, tmp_path, max_epochs=3, patience=5)
    x, y, _ = read_dataset(splits["train"])
    keras.utils.set_random_seed(spec.seed)
    model = spec_model(spec, 200, 3)
    model.compile(optimizer=keras.optimizers.Adam(spec.learning_rate), loss="binary_crossentropy")
    weights = Weights()
    model.fit(
        Batches(x, y, spec.batch_size, spec.seed),
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[weights],
    )
    assert history["loss"].tolist() == [loss for loss, _ in weights.after]
    best = int(history["val_loss"].idxmin())
    for ours, keras_fit in zip(
        load_model(tmp_path / "model.keras").get_weights(), weights.after[best][1], strict=True
    ):
        np.testing.assert_array_equal(ours, keras_fit)
