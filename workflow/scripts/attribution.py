"""Snakemake script: every seed's model of one variant explained by each attribution method,
scored against the planted motifs: fresh simulated sequences (rule attribution_simulated_tf) or
regions of a simulated-accessibility split (rule attribution_regions, input ``data``)."""

from sfcrepro.data.io import write_h5, write_tsv
from sfcrepro.pipeline.runtime import configure_gpu_job, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure_gpu_job(sm)
    from sfcrepro.explain.ground_truth import region_attribution, simulated_attribution

    settings = sm.params.attribution
    columns = {"dataset": sm.wildcards.dataset, "variant": sm.wildcards.variant}
    if "data" in sm.input.keys():
        codes, scores, curves, kept = region_attribution(
            sm.input.data, settings, sm.input.models, sm.params.seeds, **columns
        )
    else:
        codes, scores, curves, kept = simulated_attribution(
            sm.params.simulation,
            sm.params.seed,
            settings,
            sm.input.models,
            sm.params.seeds,
            motif_file=sm.input.motifs[0] if sm.input.motifs else None,
            **columns,
        )
    write_tsv(scores, sm.output.scores, float_format="%.6g")
    write_tsv(curves, sm.output.curves, float_format="%.6g")
    # Per seed, the per-base and hypothetical scores of one method, for motif discovery.
    write_h5(
        sm.output.h5,
        {"sequences": codes, "seeds": sm.params.seeds, **kept},
        {"method": settings["keep"], "task": settings["task"]},
    )
