"""Snakemake script: log the devices the Keras backend sees; fail when a GPU is required and absent."""

from sfcrepro.data.io import atomic_path
from sfcrepro.pipeline.runtime import device_report, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    report = device_report(
        sm.params.backend,
        require_gpu=sm.params.require_gpu,
        gpus=sm.config["gpus_per_job"],
        jobs_per_gpu=sm.config["jobs_per_gpu"],
    )
    log.info("\n%s", report)
    with atomic_path(sm.output[0]) as tmp:
        with open(tmp, "w") as out:
            out.write(report)
