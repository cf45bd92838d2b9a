"""Snakemake script: merge, pad, tile and label windows from each cell type's peaks."""

from sfcrepro.data.io import write_tsv
from sfcrepro.data.regions import windows_from_files
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    windows = windows_from_files(
        dict(zip(sm.params.cell_types, sm.input.peaks, strict=False)),
        sm.input.fai,
        chromosomes=sm.params.chromosomes,
        policy=sm.params.peak_errors,
        **sm.params.windows,
    )
    write_tsv(windows, sm.output[0])
