"""Snakemake script: Figure 2, performance per dataset and variant."""

import pandas as pd

from sfcrepro.figures import performance, save
from sfcrepro.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    summary = pd.read_csv(sm.input[0], sep="\t")
    save(performance(summary, sm.params.titles, split=sm.params.split), sm.output)
