"""Snakemake script: merge, pad, tile and label windows from each cell type's peaks."""

from sfcrepro.datasets import atomic_path
from sfcrepro.regions import windows_from_files
from sfcrepro.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    windows = windows_from_files(
        dict(zip(sm.params.cell_types, sm.input.peaks, strict=False)),
        sm.input.fai,
        chromosomes=sm.params.chromosomes,
        policy=sm.params.peak_errors,
        **sm.params.windows,
    )
    with atomic_path(sm.output[0]) as tmp:
        windows.to_csv(tmp, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
