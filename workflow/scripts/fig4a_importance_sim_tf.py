"""Snakemake script: Figure 4a, per-position importance on simulated TF binding."""

import pandas as pd

from sfcrepro.figures import importance_curves, save
from sfcrepro.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    tables = {variant: pd.read_csv(path, sep="\t") for variant, path in zip(sm.params.variants, sm.input)}
    n = int(next(iter(tables.values()))["n_sequences"].iloc[0])
    title = f"Simulated TF binding: {sm.params.task} task, gradient x input over {n:,} sequences"
    save(importance_curves(tables, title), sm.output)
