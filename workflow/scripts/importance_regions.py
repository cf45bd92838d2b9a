"""Snakemake script: gradient x input of the best seed of one variant over regions of a split."""

import pandas as pd

from sfcrepro.data.datasets import read_dataset
from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import configure_gpu_job, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure_gpu_job(sm)
    from sfcrepro.explain.importance import sample_rows
    from sfcrepro.pipeline.interpretation import best_seed_importance

    plan = sm.params.plan
    sequences, _, tasks = read_dataset(sm.input.data)
    if plan["task"] not in tasks:
        raise ValueError(
            f"{sm.input.data} has tasks {', '.join(tasks)}; the figure asks for {plan['task']!r}."
        )
    rows = sample_rows(len(sequences), plan["regions"], plan["seed"])
    log.info("%d of %d %s regions", len(rows), len(sequences), plan["split"])
    _, table = best_seed_importance(
        sm.input.models,
        sm.params.seeds,
        pd.read_csv(sm.input.metrics, sep="\t"),
        sequences[rows],
        plan["task"],
        tasks.index(plan["task"]),
        plan["batch_size"],
        dataset=sm.wildcards.trainset,
        variant=sm.wildcards.variant,
    )
    write_tsv(table, sm.output[0], float_format="%.6g")
