"""Snakemake script: simulate one split of a simulated TF-binding dataset."""

from sfcrepro.data.simulate import write_simulated_tf_split
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    motif_file = sm.input.motifs[0] if sm.input.motifs else None
    data = write_simulated_tf_split(
        sm.params.simulation,
        sm.wildcards.split,
        sm.params.seed,
        sm.output[0],
        motif_file=motif_file,
    )
    log.info(
        "%s: %d sequences of %d bp, tasks %s, %d motif instances, label means %s",
        sm.output[0],
        *data.sequences.shape,
        data.tasks,
        len(data.motifs),
        data.labels.mean(axis=0).round(3),
    )
