"""Snakemake script: the figure of a sweep (sfcrepro.pipeline.sweeps: learning rate, training size), from
the validation scores of each run's kept (best) epoch; also writes the table of runs and their
summary per value (spread over seeds, failed seeds, effect sizes and tests against the baseline:
sfcrepro.pipeline.evaluate.summarize_runs)."""

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline import figures
from sfcrepro.pipeline.effects import Bootstrap
from sfcrepro.pipeline.evaluate import best_epoch_scores, summarize_runs
from sfcrepro.pipeline.runtime import job_logging
from sfcrepro.pipeline.sweeps import SWEEPS

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    sweep = SWEEPS[sm.params.sweep]
    setting = sweep.column  # learning_rate or per_class
    runs = [
        {"variant": variant, setting: value, "seed": seed}
        for variant, value, seed in sm.params.runs
    ]
    scores = best_epoch_scores(runs, list(sm.input))
    log.info(
        "median validation auROC:\n%s",
        scores.pivot_table(index=setting, columns="variant", values="val_auroc", aggfunc="median"),
    )
    summary = summarize_runs(
        scores.assign(dataset=sm.params.dataset),
        setting,
        {sm.params.dataset: sm.params.baseline},
        sm.params.failed_auroc,
        Bootstrap(**sm.params.effect_sizes),
    )
    write_tsv(scores, sm.output.table, float_format="%.6g")
    write_tsv(summary, sm.output.summary, float_format="%.6g")
    draw = getattr(figures, sweep.draw)
    figures.save(draw(scores, sm.params.title), [sm.output.png, sm.output.pdf])
