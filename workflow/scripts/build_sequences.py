"""Snakemake script: a sequences dataset (table, FASTA plus labels, or simdna .simdata) checked
and written as the three split files."""

from sfcrepro.data.sequence_tables import read_sequences, write_sequence_splits
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    columns = sm.params.columns
    data = read_sequences(
        sm.input.sequences,
        format=sm.params.format,
        labels=sm.input.labels[0] if sm.input.labels else None,
        sequence_column=columns["sequence"],
        name_column=columns["name"],
        tasks=sm.params.tasks,
        split_column=columns["split"],
    )
    counts = write_sequence_splits(
        data,
        outputs=dict(zip(["train", "valid", "test"], sm.output, strict=True)),
        seed=sm.params.seed,
        fractions=None if columns["split"] else sm.params.fractions,
    )
    log.info("examples: %s", counts)
