"""Snakemake script: spread over seeds, failed seeds and tests against the baseline per learning
rate or training size (sfcrepro.evaluate.summarize_runs)."""

import pandas as pd

from sfcrepro.evaluate import summarize_runs
from sfcrepro.io import write_tsv
from sfcrepro.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    runs = pd.read_csv(sm.input[0], sep="\t").assign(dataset=sm.params.dataset)
    summary = summarize_runs(
        runs, sm.params.setting, {sm.params.dataset: sm.params.baseline}, sm.params.failed_auroc
    )
    log.info("%d rows (%s x variant x metric)", len(summary), sm.params.setting)
    write_tsv(summary, sm.output[0], float_format="%.6g")
