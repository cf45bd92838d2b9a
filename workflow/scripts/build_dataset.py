"""Snakemake script: a dataset built by the builder its type names (sfcrepro.data.dataset_types),
from its source files to its three split files."""

from sfcrepro.data.dataset_types import build
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    counts = build(
        sm.params.settings,
        sources=dict(sm.input.items()),
        outputs=dict(zip(["train", "valid", "test"], sm.output, strict=True)),
    )
    log.info("examples: %s", counts)
