"""Snakemake script: bigWig tracks of the per-base attributions of a variant's best seed."""

import pandas as pd

from sfcrepro.pipeline.runtime import COMPILATION_CACHE, configure, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    configure(
        backend=sm.params.backend,
        threads=sm.threads,
        require_gpu=sm.config["require_gpu"],
        gpus=sm.config["gpus_per_job"],
        jobs_per_gpu=sm.config["jobs_per_gpu"],
        compilation_cache=COMPILATION_CACHE,
    )
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
