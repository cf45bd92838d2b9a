"""Snakemake script: 0/1 accessibility per peak and cell type from the counts matrix."""

from sfcrepro.data.invivo import calls_from_counts
from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    calls = calls_from_counts(
        sm.input[0], sm.params.patterns, **sm.params.calls, unused=sm.params.unused
    )
    write_tsv(calls, sm.output[0])
