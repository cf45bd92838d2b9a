"""Snakemake script: a Figure 4 panel set (importance per position, best seed per variant) and
its table of symmetry and smoothness scores."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.explain.importance import importance_scores
from sfcrepro.pipeline.figures import importance_curves, save
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    plan = sm.params.plan
    tables = {
        variant: pd.read_csv(path, sep="\t")
        for variant, path in zip(sm.params.variants, sm.input, strict=False)
    }
    n = int(next(iter(tables.values()))["n_sequences"].iloc[0])
    where = "fresh simulated sequences" if plan["simulated"] else f"{plan['split']} regions"
    title = f"{plan['title']}: {plan['task']} task, mean gradient x input over {n:,} {where}"
    scores = importance_scores(tables)
    log.info("scores:\n%s", scores.to_string(index=False))
    write_tsv(scores, sm.output.scores, float_format="%.6g")
    save(importance_curves(tables, title), [sm.output.png, sm.output.pdf])
