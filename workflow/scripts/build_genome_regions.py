"""Snakemake script: the real genome sequence of each labelled region, written to the split files
(in vivo datasets: hematopoiesis windows, or one TF's regions)."""

import pandas as pd
import pyfaidx

from sfcrepro.runtime import job_logging
from sfcrepro.sim_access import build_regions

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    regions = pd.read_csv(sm.input.regions, sep="\t", dtype={"chrom": str})
    counts = build_regions(
        regions,
        sm.params.tasks,
        pyfaidx.Fasta(sm.input.fasta),
        dict(zip(["train", "valid", "test"], sm.output, strict=False)),
        seed=sm.params.seed,
        splits=sm.params.splits,
        max_n_fraction=sm.params.max_n_fraction,
        shuffle=False,
    )
    log.info("examples: %s", counts)
