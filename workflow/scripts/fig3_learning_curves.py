"""Snakemake script: Figure 3, learning curves (validation auROC per epoch)."""

import pandas as pd

from sfcrepro.pipeline.figures import learning_curves, save
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    per_variant = len(sm.params.seeds)
    histories = []
    for i, path in enumerate(sm.input.histories):
        table = pd.read_csv(path, sep="\t")
        table["variant"] = sm.params.variants[i // per_variant]
        table["seed"] = sm.params.seeds[i % per_variant]
        histories.append(table)
    save(learning_curves(pd.concat(histories, ignore_index=True)), sm.output)
