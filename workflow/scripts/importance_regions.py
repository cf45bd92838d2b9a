"""Snakemake script: gradient x input of the best seed of one variant over regions of a split."""

import pandas as pd

from sfcrepro.datasets import atomic_path, read_dataset
from sfcrepro.runtime import configure, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure(
        backend=sm.params.backend,
        threads=sm.threads,
        require_gpu=sm.config.get("require_gpu", False),
    )
    from sfcrepro.evaluate import best_seed
    from sfcrepro.importance import gradient_x_input, importance_table, sample_rows
    from sfcrepro.models import load_model

    plan = sm.params.plan
    seed = best_seed(pd.read_csv(sm.input.metrics, sep="\t"), split="valid")
    sequences, _, tasks = read_dataset(sm.input.data)
    if plan["task"] not in tasks:
        raise ValueError(
            f"{sm.input.data} has tasks {', '.join(tasks)}; the figure asks for {plan['task']!r}."
        )
    rows = sample_rows(len(sequences), plan["regions"], plan["seed"])
    log.info(
        "best seed %d by validation auROC; %d of %d %s regions; task %s",
        seed,
        len(rows),
        len(sequences),
        plan["split"],
        plan["task"],
    )
    model = load_model(sm.input.models[sm.params.seeds.index(seed)], compile=False)
    curve = gradient_x_input(
        model, sequences[rows], tasks.index(plan["task"]), batch_size=plan["batch_size"]
    )
    table = importance_table(
        curve,
        len(rows),
        dataset=sm.wildcards.trainset,
        variant=sm.wildcards.variant,
        seed=seed,
        task=plan["task"],
    )
    with atomic_path(sm.output[0]) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
