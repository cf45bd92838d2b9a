"""Snakemake script: 0/1 accessibility per peak and cell type from the counts matrix."""

from sfcrepro.datasets import atomic_path
from sfcrepro.invivo import calls_from_counts
from sfcrepro.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    calls = calls_from_counts(sm.input[0], sm.params.patterns, **sm.params.calls)
    with atomic_path(sm.output[0]) as tmp:
        calls.to_csv(tmp, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
