"""Snakemake script: fetch one source (retries, checksum, ledger)."""

from sfcrepro.data.download import fetch
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    fetch(sm.params.url, sm.output[0], sha256=sm.params.sha256, ledger=sm.params.ledger)
