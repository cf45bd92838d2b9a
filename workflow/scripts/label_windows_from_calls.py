"""Snakemake script: labelled regions from the calls, by ``windows.recipe`` (one per peak, or tiled)."""

import pandas as pd

from sfcrepro.data.invivo import windows_from_calls
from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    calls = pd.read_csv(sm.input.calls, sep="\t", dtype={"chrom": str})
    windows = windows_from_calls(
        calls,
        sm.params.cells,
        sm.input.fai,
        chromosomes=sm.params.chromosomes,
        label=sm.input.calls,
        **sm.params.windows,
    )
    log.info(
        "%d regions; positives per cell type: %s",
        len(windows),
        ", ".join(f"{cell} {int(windows[cell].sum())}" for cell in sm.params.cells),
    )
    write_tsv(windows, sm.output[0])
