"""Snakemake script: score every seed's model of one variant on the validation and test splits."""

from sfcrepro.io import write_tsv
from sfcrepro.runtime import configure, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure(backend=sm.params.backend, threads=sm.threads)
    from sfcrepro.evaluate import evaluate_models

    models = dict(zip(sm.params.seeds, sm.input.models, strict=False))
    metrics = evaluate_models(
        models,
        {"valid": sm.input.valid, "test": sm.input.test},
        sm.params.dataset,
        sm.wildcards.variant,
    )
    log.info(
        "mean over tasks:\n%s",
        metrics.groupby(["split", "seed"])[["auroc", "auprc"]].mean().round(4),
    )
    write_tsv(metrics, sm.output[0], float_format="%.6g")
