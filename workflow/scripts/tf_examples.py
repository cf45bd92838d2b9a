"""Snakemake script: one TF's positive and negative regions (in vivo TF binding)."""

from sfcrepro.data.invivo import tf_examples_from_files
from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    tf = sm.wildcards.tf
    relaxed = None if sm.input.relaxed == sm.input.chip else sm.input.relaxed
    examples = tf_examples_from_files(
        tf,
        sm.input.chip,
        sm.input.dnase,
        sm.input.fai,
        relaxed=relaxed,
        chromosomes=sm.params.chromosomes,
        policy=sm.params.peak_errors,
        length=sm.params.length,
        top=sm.params.top,
    )
    log.info("%s: %d regions, %d positive", tf, len(examples), int(examples[tf].sum()))
    write_tsv(examples, sm.output[0])
