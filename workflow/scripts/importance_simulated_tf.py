"""Snakemake script: gradient x input of the best seed of one variant, on fresh simulated sequences."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import configure_gpu_job, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure_gpu_job(sm)
    from sfcrepro.data.simulate import simulated_tf_split
    from sfcrepro.pipeline.interpretation import best_seed_importance

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
    log.info("%d fresh sequences", len(sequences))
    _, table = best_seed_importance(
        sm.input.models,
        sm.params.seeds,
        pd.read_csv(sm.input.metrics, sep="\t"),
        sequences,
        options["task"],
        data.tasks.index(options["task"]),
        options["batch_size"],
        dataset=sm.wildcards.dataset,
        variant=sm.wildcards.variant,
    )
    write_tsv(table, sm.output[0], float_format="%.6g")
