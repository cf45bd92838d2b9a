"""Run under KERAS_BACKEND=jax by tests/test_engine.py: how often a training job compiles.

Three jobs (train_runs) of four seeds that stop early at different epochs: stepped together,
one after another (both at one step per call, what auto gives under JAX on a CPU), and together
at two steps per call (a loop, as on a GPU); each counted with JAX's own compile log ("Compiling
<function> with global shapes and types ..."). Prints one line per compiled program and shape,
and a summary line the test reads. Usage: jax_compile_check.py <folder>
"""

import collections
import json
import logging
import re
import sys
from pathlib import Path

from sfcrepro.pipeline.runtime import configure

configure(backend="jax", threads=1, seed=0)

import jax  # noqa: E402
import numpy as np  # noqa: E402

from sfcrepro.data.datasets import write_dataset  # noqa: E402
from sfcrepro.pipeline.train import Execution, RunFiles, TrainingSpec, train_runs  # noqa: E402

jax.config.update("jax_log_compiles", True)
COMPILING = re.compile(r"Compiling (\S+) with global shapes and types (.*)\. Argument mapping")
compiles = collections.Counter()


class Count(logging.Handler):
    def emit(self, record):
        match = COMPILING.match(record.getMessage())
        if match:
            compiles[match.groups()] += 1


logging.getLogger("jax").addHandler(Count())
logging.getLogger("jax").setLevel(logging.WARNING)

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
for split, n in (("train", 90), ("valid", 30)):  # 90 = 2 batches of 32 and one of 26
    tokens = rng.integers(0, 4, (n, 50), dtype=np.uint8)
    write_dataset(out / f"{split}.h5", tokens, rng.integers(0, 2, (n, 1), dtype=np.uint8), ["a"])


def job(folder, together, steps):
    runs = [
        RunFiles(
            TrainingSpec(
                architecture="simulated_tf",
                head="sep",
                seed=seed,
                units=8,
                batch_size=32,
                max_epochs=8,
                patience=1,
                learning_rate=0.01,
            ),
            folder / f"seed{seed}" / "model.keras",
            folder / f"seed{seed}" / "history.tsv",
        )
        for seed in range(4)
    ]
    execution = Execution(together=together, steps_per_execution=steps)
    return train_runs(runs, out / "train.h5", out / "valid.h5", execution)


# together or one after another; steps per call: auto (1 under JAX on a CPU) or 2 (a loop)
summary = {}
for together, steps in ((True, "auto"), (False, "auto"), (True, 2)):
    name = f"{'together' if together else 'apart'}, steps {steps}"
    compiles.clear()
    histories = job(out / name.replace(", ", "_"), together, steps)
    programs = collections.defaultdict(dict)
    for (function, shapes), count in compiles.items():
        function = re.sub(r"^jit[_(]|\)$", "", function)
        if function in ("train_step", "predict_chunk"):
            programs[function][shapes] = count
            print(f"{name}: {count} x {function} {shapes[:160]}")
    summary[name] = {
        "epochs": [len(h) for h in histories],
        "compiles": {f: sorted(c.values()) for f, c in programs.items()},
    }
print("SUMMARY " + json.dumps(summary))
