"""Snakemake script: labelled regions of a peaks dataset (one peak file per task) with GC-matched
background negatives, outside the blacklist."""

from sfcrepro.data.io import write_tsv
from sfcrepro.data.peak_datasets import peak_dataset_regions
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    regions = peak_dataset_regions(
        dict(zip(sm.params.tasks, sm.input.peaks, strict=True)),
        fasta=sm.input.fasta,
        fai=sm.input.fai,
        chromosomes=sm.params.chromosomes,
        windows=sm.params.windows,
        negatives=sm.params.negatives,
        splits=sm.params.splits,
        seed=sm.params.seed,
        blacklist=sm.input.blacklist[0] if sm.input.blacklist else None,
        max_n_fraction=sm.params.max_n_fraction,
        policy=sm.params.peak_errors,
    )
    log.info(
        "%d regions (%d background); positives per task: %s",
        len(regions),
        int(regions["background"].sum()),
        ", ".join(f"{task} {int(regions[task].sum())}" for task in sm.params.tasks),
    )
    write_tsv(regions, sm.output[0])
