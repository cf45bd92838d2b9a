"""Snakemake script: Figure 2, performance per dataset and variant."""

import pandas as pd

from sfcrepro.pipeline.figures import performance, save
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    summary = pd.read_csv(sm.input[0], sep="\t")
    fig = performance(summary, sm.params.titles, split=sm.params.split)
    panels = [
        ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_visible() and ax.get_title()
    ]
    log.info("%d panels: %s", len(panels), "; ".join(panels))
    save(fig, sm.output)
