"""Tests of sfcrepro.pipeline.engine: the batch the compiled step builds, its loss and gradients against
Keras' own step under every backend, predictions, and the split kept in host memory."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from sfcrepro.data.sequences import one_hot, reverse_complement
from sfcrepro.network.models import simulated_tf
from sfcrepro.pipeline.engine import Engine, one_hot_batch
from sfcrepro.pipeline.evaluate import predict

pytestmark = pytest.mark.usefixtures("keras_runtime")
HERE = Path(__file__).parent


def test_batch_is_one_hot_with_reverse_complements_and_class_weights():
    tokens = np.array([[0, 1, 2, 3, 4], [3, 3, 0, 4, 1], [2, 2, 2, 2, 2]], dtype=np.uint8)
    labels = np.array([[1], [0], [1]], dtype=np.uint8)
    rows = keras.ops.convert_to_tensor(np.array([0, 1], np.int32))
    x, y, w = (
        keras.ops.convert_to_numpy(t)
        for t in one_hot_batch(
            tokens, labels, rows, keras.ops.convert_to_tensor([0.5, 4.0]), reverse_complement=True
        )
    )
    assert x.shape == (4, 5, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:2], one_hot(tokens[:2]))
    np.testing.assert_array_equal(x[2:], one_hot(reverse_complement(tokens[:2])))
    assert x[0, 4].sum() == 0 and x[2, 0].sum() == 0  # N is all zeros, also reversed
    np.testing.assert_array_equal(y[:, 0], [1, 0, 1, 0])
    np.testing.assert_array_equal(w, [4.0, 0.5, 4.0, 0.5])
    _, _, none = one_hot_batch(tokens, labels, rows)
    assert none is None


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_compiled_step_equals_the_keras_step_under_backend(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.fail(f"{backend} is not installed: `make test` installs every backend")
    proc = subprocess.run(
        [sys.executable, str(HERE / "engine_check.py")],
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    assert f"backend {backend}: engine step = Keras step" in proc.stdout
    assert "10 gradients equal" in proc.stdout
    assert f"backend {backend}: a frozen member keeps its state" in proc.stdout


@pytest.mark.slow
def test_a_jax_job_compiles_each_program_once_per_shape(tmp_path):
    # Four seeds that stop at different epochs, stepped together (a stopped seed frozen in its
    # place) or one after another (one template's program for every seed), one step per call
    # (auto, under JAX on a CPU) or two (a loop, as on a GPU): the train step is compiled once
    # for the full batches and once for the last, shorter one, the prediction once (its chunks
    # padded to one shape), by JAX's own compile log.
    proc = subprocess.run(
        [sys.executable, str(HERE / "jax_compile_check.py"), str(tmp_path)],
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    summary = json.loads(proc.stdout.split("SUMMARY ")[-1])
    assert len(summary) == 3, summary
    for job, counts in summary.items():
        assert len(set(counts["epochs"])) > 1, f"{job}: the seeds must stop apart: {counts}"
        expected = {"train_step": [1, 1], "predict_chunk": [1]}
        assert counts["compiles"] == expected, (job, proc.stdout[-3000:])


def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = simulated_tf("sep", length=30, tasks=2, units=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def test_predictions_in_padded_chunks_equal_keras_predictions():
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 5, size=(23, 30), dtype=np.uint8)
    model = small_model()
    engine = Engine([model], tokens, np.zeros((23, 2), np.uint8))
    got = engine.predict([0], tokens, chunk=10)[0]  # 3 chunks of 8, the last padded by 1
    assert got.shape == (23, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, predict(model, tokens, batch_size=7), rtol=1e-5, atol=1e-6)


def test_split_in_host_memory_trains_as_the_device_copy():
    rng = np.random.default_rng(2)
    tokens = rng.integers(0, 4, size=(40, 30), dtype=np.uint8)
    labels = rng.integers(0, 2, size=(40, 2), dtype=np.uint8)
    rows = np.stack([np.sort(rng.permutation(40)[:8]) for _ in range(3)])[None]  # 3 steps of 8
    results = []
    for on_device in (True, False):
        model = small_model()
        engine = Engine([model], tokens, labels, on_device=on_device, steps_per_execution=2)
        loss = engine.train([0], rows)
        engine.sync()
        results.append((loss, model.get_weights()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_steps_per_execution_does_not_change_training():
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 4, size=(40, 30), dtype=np.uint8)
    labels = rng.integers(0, 2, size=(40, 2), dtype=np.uint8)
    rows = np.stack([np.sort(rng.permutation(40)[:8]) for _ in range(5)])[None]
    weights = []
    for per_call in (1, 2, 5):
        model = small_model()
        engine = Engine([model], tokens, labels, steps_per_execution=per_call)
        engine.train([0], rows)
        weights.append(model.get_weights())
    for other in weights[1:]:
        for a, b in zip(weights[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_engine_rejects_mixed_weighting_and_bad_rows():
    tokens = np.zeros((4, 30), np.uint8)
    labels = np.zeros((4, 1), np.uint8)
    with pytest.raises(ValueError, match="all class-weighted or none"):
        Engine([small_model(), small_model(1)], tokens, labels, class_weights=[None, [1, 2]])
    engine = Engine([small_model()], tokens, labels)
    with pytest.raises(ValueError, match=r"rows must be \(models, steps, batch\)"):
        engine.train([0], np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="uint8"):
        Engine([small_model()], tokens.astype(np.int32), labels)


def run_torch_check(script, *args):
    """Run a check script under KERAS_BACKEND=torch; its summary line, parsed."""
    if importlib.util.find_spec("torch") is None:
        pytest.fail("torch is not installed: `make test` installs every backend")
    proc = subprocess.run(
        [sys.executable, str(HERE / script), *map(str, args)],
        env={**os.environ, "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    return proc, json.loads(proc.stdout.split("SUMMARY ")[-1]) if "SUMMARY " in proc.stdout else {}


@pytest.mark.slow
def test_compiled_torch_step_equals_the_keras_step():
    # engine_check.py with the engine's torch.compile step (deterministic algorithms on, as a
    # CPU job has them): loss and gradients against Keras' compute_loss, one step against
    # train_on_batch, a frozen member.
    proc = subprocess.run(
        [sys.executable, str(HERE / "engine_check.py")],
        env={**os.environ, "KERAS_BACKEND": "torch", "ENGINE_CHECK_JIT": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    assert "backend torch: engine step = Keras step" in proc.stdout
    assert "10 gradients equal" in proc.stdout
    assert "backend torch: a frozen member keeps its state" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("jit", ["false", "true"])
def test_torch_steps_equal_keras_train_on_batch(jit):
    # Five steps over three calls with a prediction between two, float32 and mixed_bfloat16, eager
    # and compiled, against Keras' own train_on_batch loop; compiled, one program per
    # architecture, and a compiler failure is an error naming execution.jit_compile.
    proc, summary = run_torch_check("torch_step_check.py", "steps", jit)
    assert "float32: 5 steps of the engine = 5 of train_on_batch" in proc.stdout
    assert "mixed_bfloat16: 5 steps of the engine = 5 of train_on_batch" in proc.stdout
    if jit == "true":
        assert summary["compiles"]["train_step"] == 2, summary
        assert summary["compiles"]["predict_chunk"] == 2, summary
        assert "a failed compile: torch.compile could not compile" in proc.stdout


@pytest.mark.slow
def test_compiled_torch_step_trains_a_model_with_batch_normalization():
    # Basset and the in vivo TF-binding model have batch normalization, whose reduction axes
    # Keras keeps in a list torch.compile cannot take (the compile failed on Basset): three
    # compiled steps of a small model with it equal the eager ones, one compile.
    proc, summary = run_torch_check("torch_step_check.py", "batchnorm", "true")
    assert "batch normalization: compiled steps = eager steps" in proc.stdout
    assert summary["compiles"]["train_step"] == 1, summary


@pytest.mark.slow
@pytest.mark.parametrize("jit", ["false", "true"])
def test_a_torch_job_compiles_each_program_once_per_shape(tmp_path, jit):
    # Four seeds that stop at different epochs, stepped together (a stopped seed frozen) and one
    # after another, with Keras' own eager calls between epochs: the torch.compile step is
    # compiled once for the full batches and once for the last, shorter one, the prediction
    # once (its chunks padded to one shape), for every seed; the compiled job's histories equal
    # the eager job's, and engines built one after another compile their own programs (each
    # once). Eagerly nothing is compiled.
    proc, summary = run_torch_check("torch_step_check.py", "seeds", jit, tmp_path)
    expected = {"train_step": 2, "predict_chunk": 1, "graphs": 3}
    if jit == "false":
        expected = dict.fromkeys(expected, 0)
    assert set(summary["modes"]) == {"together", "apart"}, proc.stdout[-3000:]
    for mode, counts in summary["modes"].items():
        assert len(set(counts["epochs"])) > 1, f"{mode}: the seeds must stop apart: {counts}"
        got = {"graphs": counts["graphs"], **counts["compiles"]}
        assert {k: got[k] for k in expected} == expected, (mode, counts, proc.stdout[-3000:])
    if jit == "true":  # 5 engines in one process, past Dynamo's recompile limit (set to 2)
        assert summary["engines"] == 3, summary
        assert "compiled job = eager job" in proc.stdout
