"""Snakemake script: attribution accuracy over seeds (table, Wilcoxon against the baseline,
figure) and Figure 4a's scores for every seed."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.effects import Bootstrap
from sfcrepro.pipeline.figures import attribution_accuracy, importance_over_seeds, save
from sfcrepro.pipeline.interpretation import summarize_attribution
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    scores = pd.concat([pd.read_csv(path, sep="\t") for path in sm.input.scores])
    curves = pd.concat([pd.read_csv(path, sep="\t") for path in sm.input.curves])
    metrics = pd.concat([pd.read_csv(path, sep="\t") for path in sm.input.metrics])
    summary, curve_summary, best = summarize_attribution(
        scores, curves, metrics, sm.params.baseline, Bootstrap(**sm.params.effect_sizes)
    )
    log.info("attribution accuracy:\n%s", summary.to_string(index=False))
    write_tsv(scores, sm.output.scores, float_format="%.6g")
    write_tsv(summary, sm.output.summary, float_format="%.6g")
    write_tsv(curve_summary, sm.output.curves, float_format="%.6g")
    save(attribution_accuracy(scores, sm.params.title), [sm.output.png, sm.output.pdf])
    save(
        importance_over_seeds(curves, best, sm.params.title),
        [sm.output.seeds_png, sm.output.seeds_pdf],
    )
