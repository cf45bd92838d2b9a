"""Snakemake script: the TF ChIP-seq summits inside each window's region."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.data.regions import summits_from_files
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    windows = pd.read_csv(sm.input.windows, sep="\t", dtype={"chrom": str})
    hits = summits_from_files(
        windows,
        dict(zip(sm.params.tfs, sm.input.peaks, strict=False)),
        sm.input.fai,
        policy=sm.params.peak_errors,
    )
    write_tsv(hits, sm.output[0])
