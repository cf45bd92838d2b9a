"""Snakemake script: Figure 2, performance per dataset and variant."""

import pandas as pd

from sfcrepro.figures import performance, save
from sfcrepro.runtime import job_logging

TITLES = {"sim_tf": "Simulated TF binding"}

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    summary = pd.read_csv(sm.input[0], sep="\t")
    titles = {d: TITLES.get(d, d) for d in sm.params.datasets}
    save(performance(summary, titles, split=sm.params.split), sm.output)
