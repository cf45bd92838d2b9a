"""Snakemake script: gradient x input of the best seed of one variant, on fresh simulated sequences."""

import pandas as pd

from sfcrepro.datasets import atomic_path
from sfcrepro.runtime import configure, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure(
        backend=sm.params.backend,
        threads=sm.threads,
        require_gpu=sm.config.get("require_gpu", False),
    )
    from sfcrepro.evaluate import best_seed
    from sfcrepro.importance import gradient_x_input, importance_table
    from sfcrepro.models import load_model
    from sfcrepro.simulate import simulated_tf_split

    seed = best_seed(pd.read_csv(sm.input.metrics, sep="\t"), split="valid")
    options = sm.params.importance
    n = options["sequences"]
    motif_file = sm.input.motifs[0] if sm.input.motifs else None
    data = simulated_tf_split(
        sm.params.simulation,
        "importance",
        sm.params.seed,
        n_per_class=-(-n // 4),
        motif_file=motif_file,
    )
    sequences = data.sequences[:n]
    task = data.tasks.index(options["task"])
    log.info(
        "best seed %d by validation auROC; %d fresh sequences; task %s",
        seed,
        len(sequences),
        options["task"],
    )
    model = load_model(sm.input.models[sm.params.seeds.index(seed)], compile=False)
    curve = gradient_x_input(model, sequences, task, batch_size=options.get("batch_size", 1000))
    table = importance_table(
        curve,
        len(sequences),
        dataset=sm.wildcards.dataset,
        variant=sm.wildcards.variant,
        seed=seed,
        task=options["task"],
    )
    with atomic_path(sm.output[0]) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
