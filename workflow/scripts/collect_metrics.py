"""Snakemake script: one tidy metrics table per dataset."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    metrics = pd.concat([pd.read_csv(path, sep="\t") for path in sm.input], ignore_index=True)
    write_tsv(metrics, sm.output[0], float_format="%.6g")
    log.info("%s: %d rows", sm.output[0], len(metrics))
