"""The host's share of training: time per step and per epoch of a model whose arithmetic costs
almost nothing, trained through the pipeline's `train_runs()`, for one seed and for 10 seeds
stepped together; the code before beside the current one, in one run.

On a GPU the host (Python, the framework's dispatch, the training loop's bookkeeping) sets the
pace of small models: their steps take the device microseconds. This benchmark makes that host
work visible on a CPU: the model (``host_tiny``: Conv1D(4 filters, width 3) on 20 bp -> the head
(sep with 2 units by default) -> Dense(4) -> Dense(1); about 7 kFLOP per training example, 60 kFLOP
per step of 8) leaves almost nothing but the host's work in a step. It is added to the package's
architecture table (`sfcrepro.network.models.ARCHITECTURES`) in the worker process only;
`--model simulated_tf` trains the paper's small model at `--length` bp instead (its two 50-filter
convolutions cost 2 MFLOP per example at 30 bp: arithmetic no longer negligible).

Command (the lead's measurement; the code before from its commit)::

    mkdir -p /tmp/before && git archive 6c21ef9 src | tar -x -C /tmp/before
    python benchmarks/host_overhead.py --before-src /tmp/before/src --backends jax \\
        --rounds 3 --json /tmp/host_overhead.json
    # TensorFlow and PyTorch too, together and one after another
    python benchmarks/host_overhead.py --before-src /tmp/before/src \\
        --backends jax tensorflow torch --together true false --rounds 3

Each measurement is a fresh process (workers inherit PYTHONPATH with the measured code's src/
first, as in benchmarks/training_speed.py) that trains `--seeds` (1 and 10) runs of the same
variant on random data: `--steps` steps of `--batch` examples per epoch, `--epochs` epochs, no
early stopping, a validation split of `--valid` examples (one prediction chunk), checkpoints as
the pipeline writes them (`--no-checkpoint`: none), one CPU thread (`--threads`). The versions
alternate, `--rounds` times. Steps per compiled call (`--steps-per-execution`): 1; ``epoch``
(the integer `--steps`: one call per epoch, what ``auto`` gives a model this small on a GPU); and
``auto`` (an epoch per call under TensorFlow and PyTorch, and on a GPU; one step under JAX on a
CPU, where XLA ran the looped steps of small convolutional models about 10x slower). The code
before takes integers only, so it is measured at 1 and ``epoch``; which settings a version's
``Execution`` accepts is checked once per version, and a refused one is reported as skipped.

What each number means (medians over the epochs after the first, which includes compilation):

* ``step_ms``: the training time of an epoch / its steps, where a step advances every seed by
  one batch (10 seeds together: one stacked step; one after another: the runs' steps summed).
  The training time comes from the epoch lines the pipeline logs ("training <N> examples/s":
  examples of all the seeds / N; validation excluded). The goal of issue 35: ``step_ms`` of 10
  seeds together at most 2x that of one seed.
* ``step_ms_per_seed``: ``step_ms`` / seeds.
* ``epoch_s``: the wall time of an epoch, from one epoch's end to the next (an ``on_epoch_end``
  callback: training, validation, the history row, early stopping, the checkpoint).
* ``epoch_extra_s``: ``epoch_s`` minus the training time: the host's work per epoch beyond the
  steps.
* ``history_epoch_s``: the history's ``seconds`` (training and validation, no checkpoint).

Prints one JSON line per measurement as it ends (also written to `--json`, a list), then a
table of the medians over the rounds with the ratio of 10 seeds to one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_speed import (  # noqa: E402 (this folder first on the path)
    EpochLog,
    Results,
    execution_value,
    make_execution,
    median_after_first,
    module,
    run_worker,
    worker_env,
)

ROOT = Path(__file__).resolve().parents[1]


def make_data(folder: Path, length: int, examples: int, valid: int) -> tuple[Path, Path]:
    """Random training and validation splits of ``length`` bp, one task (written once)."""
    import numpy as np

    from sfcrepro.data.datasets import write_dataset

    folder = folder / f"L{length}_n{examples}_v{valid}"
    paths = folder / "train.h5", folder / "valid.h5"
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for n, path in zip((examples, valid), paths, strict=True):
        write_dataset(
            path,
            rng.integers(0, 4, size=(n, length), dtype=np.uint8),
            rng.integers(0, 2, size=(n, 1), dtype=np.uint8),
            ["a"],
        )
    return paths


def register_tiny() -> None:
    """Add ``host_tiny`` to the package's architecture table (this process only)."""
    import keras
    from keras import layers

    heads = module("heads")
    models = module("models")

    def host_tiny(
        head="sep",
        length=20,
        tasks=1,
        curvature=0.0,
        units=None,
        initializer="paper",
        curvature_norm="l1",
    ):
        inputs = keras.Input((length, 4), name="sequence")
        x = layers.Conv1D(4, 3, activation="relu", name="conv1")(inputs)
        x = heads.build(
            x,
            head,
            next_width=4,
            curvature=curvature,
            units=2 if units is None else units,
            initializer=initializer,
            architecture="simulated_tf",
            curvature_norm=curvature_norm,
        )
        x = layers.Dense(4, activation="relu", name="fc")(x)
        logits = layers.Dense(tasks, dtype="float32", name="logits")(x)
        output = layers.Activation("sigmoid", dtype="float32", name="output")(logits)
        return keras.Model(inputs, output, name=f"host_tiny_{head}")

    models.ARCHITECTURES["host_tiny"] = host_tiny


class EpochEnds:
    """A callback that notes when each run's epoch ends (no ``on_epoch_begin``: that would make
    the loop reread the weights every epoch)."""

    def __init__(self):
        self.start = time.perf_counter()
        self.events: list[tuple[float, int]] = []

    def on_epoch_end(self, run, epoch, row):
        self.events.append((time.perf_counter(), int(epoch) + 1))

    def epoch_seconds(self) -> dict[int, float]:
        """Per epoch, the wall time spent on it: each event's time since the previous one (the
        first: since the start), given to the event's epoch. Runs together end an epoch in a
        burst; runs one after another add their own epochs up."""
        seconds: dict[int, float] = {}
        last = self.start
        for when, epoch in self.events:
            seconds[epoch] = seconds.get(epoch, 0.0) + when - last
            last = when
        return seconds


def worker(args) -> None:
    """One measurement in this process: prints a ``RESULT {json}`` line."""
    import json
    import tempfile

    module("runtime").configure(backend=args.backend, threads=args.threads, seed=0)
    import keras

    epoch_log = EpochLog.install(echo=False)
    train_module = module("train")
    if not hasattr(train_module, "train_runs"):
        raise SystemExit("this code has no train_runs() (before the training engine)")
    TrainingSpec = module("settings").TrainingSpec
    if args.model == "host_tiny":
        register_tiny()
    train_path, valid_path = Path(args.train_path), Path(args.valid_path)
    try:
        execution = make_execution(
            train_module,
            execution_value(args.together),
            execution_value(args.steps_per_execution),
        )
    except (TypeError, ValueError) as error:
        raise SystemExit(f"this code's Execution does not take these settings: {error}") from None
    out = Path(tempfile.mkdtemp(dir=train_path.parent))
    specs = [
        TrainingSpec(
            architecture=args.model,
            head=args.head,
            seed=seed,
            batch_size=args.batch,
            max_epochs=args.epochs,
            patience=args.epochs,
            units=args.units,
            name=f"host/{args.head}",
        )
        for seed in range(args.seeds)
    ]
    runs = [
        train_module.RunFiles(
            s,
            out / f"s{s.seed}" / "m.keras",
            out / f"s{s.seed}" / "h.tsv",
            None if args.no_checkpoint else out / f"s{s.seed}" / "resume.npz",
        )
        for s in specs
    ]
    ends = EpochEnds()
    start = time.perf_counter()
    histories = train_module.train_runs(runs, train_path, valid_path, execution, [ends])
    total = time.perf_counter() - start

    examples = args.steps * args.batch
    training = epoch_log.training_seconds(examples, args.seeds)
    if not training:
        raise SystemExit("no epoch lines ('training <N> examples/s') logged by this code")
    walls = ends.epoch_seconds()
    epochs = sorted(training)
    train_list = [training[e] for e in epochs]
    wall_list = [walls.get(e, float("nan")) for e in epochs]
    extra_list = [w - t for w, t in zip(wall_list, train_list, strict=True)]
    per_run = [[float(s) for s in h["seconds"]] for h in histories]
    together = epoch_log.together()
    history_list = per_run[0] if together else [sum(s) for s in zip(*per_run, strict=False)]
    step = median_after_first(train_list) / args.steps
    model = module("models").build_model(args.model, head=args.head, length=args.length, tasks=1)
    flops = module("models").training_flops_per_example(model)
    print(
        "RESULT "
        + json.dumps(
            {
                "code": args.code,
                "backend": keras.backend.backend(),
                "model": args.model,
                "head": args.head,
                "seeds": args.seeds,
                "together": args.together,
                "steps_per_execution": args.steps_per_execution,
                "engine": epoch_log.engine,
                "checkpoint": not args.no_checkpoint,
                "threads": args.threads,
                "batch": args.batch,
                "steps_per_epoch": args.steps,
                "epochs": len(epochs),
                "training_flop_per_example": round(flops),
                "step_ms": round(step * 1e3, 4),
                "step_ms_per_seed": round(step * 1e3 / args.seeds, 4),
                "epoch_s": round(median_after_first(wall_list), 4),
                "epoch_training_s": round(median_after_first(train_list), 4),
                "epoch_extra_s": round(median_after_first(extra_list), 4),
                "history_epoch_s": round(median_after_first(history_list), 4),
                "first_epoch_s": round(wall_list[0], 3),
                "training_s": [round(s, 4) for s in train_list],
                "epoch_wall_s": [round(s, 4) for s in wall_list],
                "process_s": round(total, 2),
            }
        ),
        flush=True,
    )


def accepts_auto(src: str, backend: str) -> bool:
    """Whether the code in ``src`` takes ``steps_per_execution: auto``."""
    probe = (
        "from sfcrepro.pipeline.train import Execution\n"
        "try:\n    Execution(steps_per_execution='auto')\nexcept (TypeError, ValueError):\n"
        "    raise SystemExit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=worker_env(src, backend), capture_output=True
    )
    return proc.returncode == 0


def summary(rows: list[dict]) -> str:
    """Medians over the rounds, and the ratio of each setting's step to the one-seed step."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if "error" in r:
            continue
        key = (r["backend"], r["code"], r["steps_per_execution"], r["seeds"], r["together"])
        groups.setdefault(key, []).append(r)

    def med(items, name):
        return statistics.median(r[name] for r in items)

    lines = [
        "| backend | code | steps per call | seeds | together | step (ms) | per seed (ms) | "
        "step vs 1 seed | epoch (s) | beyond the steps (s) | rounds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, items in groups.items():
        backend, code, spe, seeds, together = key
        one = [v for k, v in groups.items() if k[:3] == key[:3] and k[3] == 1]
        ratio = med(items, "step_ms") / med(one[0], "step_ms") if one else float("nan")
        lines.append(
            f"| {backend} | {code} | {spe} | {seeds} | {together if seeds > 1 else '-'} | "
            f"{med(items, 'step_ms'):.3f} | {med(items, 'step_ms_per_seed'):.3f} | "
            f"{ratio:.2f} | {med(items, 'epoch_s'):.3f} | {med(items, 'epoch_extra_s'):.3f} | "
            f"{len(items)} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", nargs="+", default=["jax"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 10])
    parser.add_argument(
        "--together", nargs="+", default=["true"], choices=["true", "false", "auto"]
    )
    parser.add_argument(
        "--steps-per-execution",
        nargs="+",
        default=["1", "epoch", "auto"],
        help="settings to measure: integers, epoch (= --steps: one call per epoch) and auto; "
        "each version is measured at those it accepts",
    )
    parser.add_argument("--model", default="host_tiny", choices=["host_tiny", "simulated_tf"])
    parser.add_argument("--head", default="sep")
    parser.add_argument("--units", type=int, default=2, help="SFC units (sep, symm)")
    parser.add_argument("--length", type=int, default=None, help="bp (20; simulated_tf: 30)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200, help="training steps per epoch")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--valid", type=int, default=64, help="validation examples")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-checkpoint", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--before-src", help="src/ of the code before, timed beside this one")
    parser.add_argument("--cache", default="/tmp/sfcrepro-host-overhead")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per measurement")
    # worker
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", default="after", help=argparse.SUPPRESS)
    for name in ("backend", "train-path", "valid-path"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.length is None:
        args.length = 20 if args.model == "host_tiny" else 30
    args.steps_per_execution = [
        str(args.steps) if s == "epoch" else s for s in args.steps_per_execution
    ]
    if args.worker:
        args.seeds = int(args.seeds[0])
        args.together = args.together[0]
        args.steps_per_execution = args.steps_per_execution[0]
        worker(args)
        return

    train_path, valid_path = make_data(
        Path(args.cache), args.length, args.steps * args.batch, args.valid
    )
    codes = {"after": str(ROOT / "src")}
    if args.before_src:
        codes = {"before": str(Path(args.before_src).resolve()), **codes}
    steps = {
        code: [
            s
            for s in args.steps_per_execution
            if s != "auto" or accepts_auto(src, args.backends[0])
        ]
        for code, src in codes.items()
    }
    results = Results(args.json)
    for code in codes:
        for s in sorted(set(args.steps_per_execution) - set(steps[code])):
            results.add({"code": code, "steps_per_execution": s, "error": "skipped: not accepted"})
    for _ in range(args.rounds):
        for backend in args.backends:
            for code, src in codes.items():
                for spe in steps[code]:
                    for seeds in args.seeds:
                        for together in args.together if seeds > 1 else args.together[:1]:
                            describe = {
                                "code": code,
                                "backend": backend,
                                "seeds": seeds,
                                "together": together,
                                "steps_per_execution": spe,
                            }
                            command = [
                                sys.executable,
                                __file__,
                                "--worker",
                                *("--code", code, "--backend", backend),
                                *("--train-path", str(train_path), "--valid-path", str(valid_path)),
                                *("--seeds", str(seeds), "--together", together),
                                *("--steps-per-execution", spe, "--model", args.model),
                                *("--head", args.head, "--units", str(args.units)),
                                *("--length", str(args.length), "--batch", str(args.batch)),
                                *("--steps", str(args.steps), "--epochs", str(args.epochs)),
                                *("--threads", str(args.threads)),
                            ]
                            if args.no_checkpoint:
                                command.append("--no-checkpoint")
                            env = worker_env(src, backend, PYTHONHASHSEED="0")
                            results.add(run_worker(command, env, args.timeout, describe))
    print(summary(results.rows), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
