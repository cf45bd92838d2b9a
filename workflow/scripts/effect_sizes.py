"""Snakemake script: the forest plot of every effect against the baseline (performance, and
attribution accuracy where scored) and its table."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.effects import forest_rows
from sfcrepro.pipeline.figures import effect_sizes, save
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    summary = pd.read_csv(sm.input.summary, sep="\t")
    attribution = {
        name: pd.read_csv(path, sep="\t")
        for name, path in zip(sm.params.datasets, sm.input.attribution, strict=True)
    }
    rows = forest_rows(summary, attribution)
    log.info("effects:\n%s", rows.to_string(index=False))
    write_tsv(rows, sm.output.table, float_format="%.6g")
    shown = rows.assign(dataset=rows["dataset"].map(sm.params.titles).fillna(rows["dataset"]))
    save(effect_sizes(shown, sm.params.confidence), [sm.output.png, sm.output.pdf])
