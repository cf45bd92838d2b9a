"""Snakemake script: decompress the genome FASTA and index it with pyfaidx."""

from sfcrepro.data.download import prepare_fasta
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    prepare_fasta(sm.input[0], sm.output.fasta)
