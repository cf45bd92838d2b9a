"""Snakemake script: score every seed's model of one variant on the validation and test splits
(and, for genome-derived data, write every region's predictions as a BED-like table)."""

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import COMPILATION_CACHE, configure, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure(backend=sm.params.backend, threads=sm.threads, compilation_cache=COMPILATION_CACHE)
    from sfcrepro.pipeline.evaluate import evaluate_models, write_region_predictions

    models = dict(zip(sm.params.seeds, sm.input.models, strict=False))
    splits = {"valid": sm.input.valid, "test": sm.input.test}
    predictions = {} if "predictions" in sm.output.keys() else None
    metrics = evaluate_models(
        models, splits, sm.params.dataset, sm.wildcards.variant, predictions=predictions
    )
    log.info(
        "mean over tasks:\n%s",
        metrics.groupby(["split", "seed"])[["auroc", "auprc"]].mean().round(4),
    )
    write_tsv(metrics, sm.output.metrics, float_format="%.6g")
    if predictions is not None:
        write_region_predictions(sm.output.predictions, splits, predictions)
