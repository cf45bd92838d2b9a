"""Snakemake script: bigWig tracks of the per-base attributions of a variant's best seed."""

import pandas as pd

from sfcrepro.pipeline.runtime import configure_gpu_job, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    configure_gpu_job(sm)
    from sfcrepro.pipeline.tracks import attribution_tracks

    attribution_tracks(
        sm.input.models,
        sm.params.seeds,
        pd.read_csv(sm.input.metrics, sep="\t"),
        sm.input.data,
        sm.input.fai,
        sm.params.settings,
        sm.output[0],
    )
