"""Run under KERAS_BACKEND=torch by tests/test_engine.py: the PyTorch step over several steps,
and how often it compiles. Deterministic algorithms are on, as in a CPU job.

Usage: torch_step_check.py <part> <jit: true|false> [<folder>]

``steps``
    Five steps of the engine, in three calls with a prediction (an epoch's end) between two,
    against five of Keras' ``train_on_batch`` from the same weights, optimizer and random state
    (dropout, a curvature regulariser, class weights, reverse complements and N bases on): every
    weight, Adam's moments and its iteration count after the first step and after the fifth, and
    each step's loss, for a float32 model and one built under ``mixed_bfloat16`` (tolerances in
    the code: eagerly equal to rounding, compiled to float tolerance). With jit, also: one
    program per architecture, and a compiler that fails gives TorchCompileError, the weights
    untouched.
``seeds``
    One training job (``train_runs``) of four seeds of one architecture that stop early at
    different epochs, stepped together (a stopped seed frozen in its place) and then one after
    another, with Keras' own eager calls between epochs (predictions, weights, losses): with jit
    the step is compiled once for the full batches and once for the last, shorter one, the
    prediction once, whatever the seed (counted by compile_counts and Dynamo's graph count);
    eagerly nothing is compiled. With jit, also: the compiled job's histories equal the eager
    job's, and 3 more engines built one after another each compile once (past Dynamo's recompile
    limit, set to 2 programs per function for this, which a function shared by the engines would
    hit; the default, 8, by the ninth engine).

Prints a summary line (``SUMMARY {json}``) the test reads.
"""

import json
import sys
import time
from pathlib import Path

from sfcrepro.pipeline.runtime import configure

configure(backend="torch", threads=1, seed=0)  # deterministic algorithms on, as a CPU job

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sfcrepro.data.sequences import one_hot, reverse_complement  # noqa: E402
from sfcrepro.network.models import simulated_tf  # noqa: E402
from sfcrepro.pipeline._engine_torch import compile_counts  # noqa: E402
from sfcrepro.pipeline.engine import Engine, global_rng_state  # noqa: E402
from sfcrepro.pipeline.train import dtype_policy  # noqa: E402

part, jit = sys.argv[1], sys.argv[2] == "true"
summary = {"part": part, "jit": jit}


def compiled_model(precision="float32", seed=0):
    keras.utils.set_random_seed(seed)
    with dtype_policy(precision):  # as training builds it
        model = simulated_tf("sep", length=60, tasks=2, units=16, curvature=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def state(model):
    return [
        keras.ops.convert_to_numpy(v).copy() for v in (*model.variables, *model.optimizer.variables)
    ]


def steps_against_keras(precision):
    """Five steps of the engine (1, then 2, a prediction, then 2) against five of Keras'
    ``train_on_batch``; returns the engine's seconds (the compiles included)."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, size=(80, 60), dtype=np.uint8)  # code 4: N
    labels = rng.integers(0, 2, size=(80, 2), dtype=np.uint8)
    class_weight = np.array([0.5, 2.0], np.float32)  # by the first task's label
    rows = np.stack([np.sort(rng.choice(80, size=16, replace=False)) for _ in range(5)])
    rows = rows.astype(np.int32)
    model = compiled_model(precision)
    saved, saved_rng = state(model), global_rng_state()
    variables = [*model.variables, *model.optimizer.variables]

    start = time.perf_counter()
    engine = Engine(
        [model],
        tokens,
        labels,
        class_weights=[class_weight],
        reverse_complement=True,
        jit_compile=jit,
        rng_states=[global_rng_state()],
        steps_per_execution=None,
    )
    losses = list(keras.ops.convert_to_numpy(engine.train([0], rows[None, :1]))[0])
    engine.sync()
    ours = [state(model)]
    losses += list(keras.ops.convert_to_numpy(engine.train([0], rows[None, 1:3]))[0])
    engine.sync()
    engine.predict([0], tokens, chunk=32)  # an epoch's end between the calls
    losses += list(keras.ops.convert_to_numpy(engine.train([0], rows[None, 3:]))[0])
    engine.sync()
    ours.append(state(model))
    seconds = time.perf_counter() - start
    # the model's own dropout state went on from where it was (one copy per model)
    assert not np.array_equal(engine.rng_states[0]["rng_cpu"], saved_rng["rng_cpu"])

    for variable, value in zip(variables, saved, strict=True):
        variable.assign(value)
    torch.set_rng_state(torch.from_numpy(saved_rng["rng_cpu"]))
    ref_losses, theirs = [], []
    for batch in rows:
        x = one_hot(np.concatenate([tokens[batch], reverse_complement(tokens[batch])]))
        y = np.concatenate([labels[batch], labels[batch]]).astype(np.float32)
        w = class_weight[y[:, 0].astype(int)]
        ref_losses.append(float(np.asarray(model.train_on_batch(x, y, sample_weight=w)).ravel()[0]))
        if len(ref_losses) == 1:
            theirs.append(state(model))
    theirs.append(state(model))
    assert int(model.optimizer.iterations.numpy()) == 5

    # The eager step runs Keras' own operations in Keras' order: equal to rounding. Compiled,
    # the first step is equal to float tolerance (in bfloat16 too: the compiled step rounds
    # intermediate results as eager does). Over five steps Adam amplifies rounding: its first
    # updates are about lr x the gradient's sign, so a gradient element near zero may move its
    # weight by lr either way; a 1-ulp difference of a float32 weight can round its bfloat16
    # copy the other way. There each variable's difference is measured against its change
    # (1e-3 of it in float32, measured 2e-5; 0.2 in bfloat16, measured 0.06).
    close = {"rtol": 1e-6, "atol": 1e-8} if not jit else {"rtol": 1e-4, "atol": 1e-6}
    for variable, a, b in zip(variables, ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(a, b, **close, err_msg=f"step 1: {variable.path}")
    moved = 0
    for variable, a, b, before in zip(variables, ours[1], theirs[1], saved, strict=True):
        moved += not np.array_equal(a, before)
        if not jit:
            np.testing.assert_allclose(a, b, **close, err_msg=f"step 5: {variable.path}")
        else:
            share = 1e-3 if precision == "float32" else 0.2
            change = np.linalg.norm(b - before)
            assert np.linalg.norm(a - b) <= share * change, (variable.path, a - b, change)
    # all but the learning rate and the (unused) dropout seed state
    assert moved == len(variables) - 2, f"{moved} of {len(variables)} variables moved"
    loose = precision != "float32" and jit
    np.testing.assert_allclose(losses, ref_losses, rtol=2e-3 if loose else close["rtol"])
    print(f"{precision}: 5 steps of the engine = 5 of train_on_batch ({seconds:.1f} s)")
    return round(seconds, 1)


if part == "steps":
    summary["seconds"] = {p: steps_against_keras(p) for p in ("float32", "mixed_bfloat16")}
    summary["compiles"] = compile_counts()  # one program per precision (architecture)
    if jit:
        # A step torch.compile cannot compile (here: a compiler that fails) is an error naming
        # the fix, not a warning and eager training.
        from sfcrepro.pipeline._engine_torch import TorchCompileError

        def failing_compiler(graph, example_inputs):
            raise RuntimeError("no compiler here")

        compile_ = torch.compile
        torch.compile = lambda function, options=None, **kwargs: compile_(
            function, backend=failing_compiler, **kwargs
        )
        try:
            model = compiled_model(seed=3)
            zeros = np.zeros((8, 60), np.uint8), np.zeros((8, 2), np.uint8)
            engine = Engine([model], *zeros, jit_compile=True)
            before = state(model)
            try:
                engine.train([0], np.zeros((1, 1, 4), np.int32))
            except TorchCompileError as error:
                message = str(error)
            else:
                raise AssertionError("a failed compile trained on")
        finally:
            torch.compile = compile_
        assert "execution.jit_compile: false" in message and "no compiler here" in message, message
        for a, b in zip(before, state(model), strict=True):
            np.testing.assert_array_equal(a, b)
        print(f"a failed compile: {message}")
elif part == "seeds":
    from torch._dynamo.utils import counters

    from sfcrepro.data.datasets import write_dataset
    from sfcrepro.pipeline.train import Execution, RunFiles, TrainingSpec, train_runs

    out = Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 90), ("valid", 30)):  # 90 = 2 batches of 32 and one of 26
        tokens = rng.integers(0, 4, (n, 50), dtype=np.uint8)
        labels = rng.integers(0, 2, (n, 1), dtype=np.uint8)
        write_dataset(out / f"{split}.h5", tokens, labels, ["a"])

    class Between:
        """Keras' own eager calls between epochs, as callbacks and evaluation make them."""

        def on_epoch_end(self, run, epoch, row):
            x = one_hot(np.zeros((3, 50), np.uint8))
            run.model.predict(x, verbose=0)
            run.model(x, training=False)
            run.model.get_weights()
            list(run.model.losses)

    def job(together, jit):
        """The four seeds' histories."""
        counters.clear()
        folder = out / f"{'together' if together else 'apart'}-{'jit' if jit else 'eager'}"
        runs = [
            RunFiles(
                TrainingSpec(
                    architecture="simulated_tf",
                    head="sep",
                    seed=seed,
                    units=8,
                    batch_size=32,
                    max_epochs=6,
                    patience=1,
                    learning_rate=0.01,
                ),
                folder / f"seed{seed}" / "model.keras",
                folder / f"seed{seed}" / "history.tsv",
            )
            for seed in range(4)
        ]
        return train_runs(
            runs,
            out / "train.h5",
            out / "valid.h5",
            Execution(together=together, jit_compile=jit),
            callbacks=[Between()],
        )

    summary["modes"] = {}
    for together in (True, False):
        start, before = time.perf_counter(), compile_counts()
        histories = job(together, jit)
        mode = {
            "epochs": [len(h) for h in histories],
            "compiles": {k: n - before[k] for k, n in compile_counts().items()},
            "graphs": int(counters["stats"]["unique_graphs"]),
            "seconds": round(time.perf_counter() - start, 1),
        }
        summary["modes"]["together" if together else "apart"] = mode
        print(mode)
    if jit:  # the compiled job trains the models the eager one does, to float rounding
        for compiled, eager in zip(histories, job(False, False), strict=True):
            assert len(compiled) == len(eager)
            for column in ("loss", "val_loss", "val_auroc"):
                np.testing.assert_allclose(compiled[column], eager[column], rtol=1e-4)
        print("compiled job = eager job")
        # More engines one after another in this process than Dynamo's recompile limit (8 per
        # function by default; 2 here, so that 3 engines show it cheaply): each compiles its own
        # program once.
        torch._dynamo.config.recompile_limit = 2
        tokens, labels = np.zeros((16, 40), np.uint8), np.zeros((16, 1), np.uint8)
        before = compile_counts()["train_step"]
        for seed in range(3):
            keras.utils.set_random_seed(seed)
            model = simulated_tf("sep", length=40, tasks=1, units=4)
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
            model.optimizer.build(model.trainable_variables)
            Engine([model], tokens, labels, jit_compile=True).train([0], np.zeros((1, 2, 8), int))
        summary["engines"] = compile_counts()["train_step"] - before
        print(f"3 more engines: {summary['engines']} compiles")
elif part == "batchnorm":
    # A model with batch normalization (as Basset and in vivo TF binding have), compiled: Keras
    # keeps its reduction axes in a list Dynamo cannot pass to a torch op unless the engine turns
    # it into a tuple. Three steps equal the eager step's, weights and moving statistics.
    def bn_model():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((40, 4))
        # no bias before batch normalization: its gradient is about zero, and Adam's step,
        # normalised, turns the rounding of that zero into full-size updates that differ
        x = keras.layers.Conv1D(8, 5, use_bias=False, name="conv")(inputs)
        x = keras.layers.BatchNormalization(name="bn")(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling1D(4)(x)
        outputs = keras.layers.Dense(2, activation="sigmoid")(keras.layers.Flatten()(x))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
        model.optimizer.build(model.trainable_variables)
        return model

    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 5, size=(48, 40), dtype=np.uint8)
    labels = rng.integers(0, 2, size=(48, 2), dtype=np.uint8)
    rows = np.stack([np.sort(rng.choice(48, 16, replace=False)) for _ in range(3)])[None]
    weights = {}
    for compiled in (False, jit):
        model = bn_model()
        Engine([model], tokens, labels, jit_compile=compiled).train([0], rows)
        weights[compiled] = [keras.ops.convert_to_numpy(v) for v in model.variables]
        names = [v.path for v in model.variables]
    for path, a, b in zip(names, weights[False], weights[jit], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=path)
    summary["compiles"] = compile_counts()
    print("batch normalization: compiled steps = eager steps")
print("SUMMARY " + json.dumps(summary))
