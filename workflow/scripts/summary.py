"""Snakemake script: median/min/max/spread over seeds, failed seeds, effect sizes with bootstrap
intervals and tests against the baseline."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.effects import Bootstrap
from sfcrepro.pipeline.evaluate import summarize
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    metrics = pd.concat([pd.read_csv(path, sep="\t") for path in sm.input], ignore_index=True)
    summary = summarize(
        metrics,
        baseline=sm.params.baseline,
        failed_below=sm.params.failed_auroc,
        bootstrap=Bootstrap(**sm.params.effect_sizes),
    )
    write_tsv(summary, sm.output[0], float_format="%.6g")
    log.info("summary:\n%s", summary.to_string(index=False))
