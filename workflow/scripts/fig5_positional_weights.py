"""Snakemake script: Figure 5, SFC positional weights of the best seed per variant, clustered."""

import numpy as np
import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import COMPILATION_CACHE, configure, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    configure(backend=sm.params.backend, threads=sm.threads, compilation_cache=COMPILATION_CACHE)
    from sfcrepro.network.kernels import cluster_order, normalise_rows, positional_kernel
    from sfcrepro.network.models import load_model
    from sfcrepro.pipeline.evaluate import best_seed
    from sfcrepro.pipeline.figures import positional_weights, save

    seeds = sm.params.seeds
    kernels, rows = {}, []
    for i, (variant, curvature) in enumerate(
        zip(sm.params.variants, sm.params.curvature, strict=False)
    ):
        seed = best_seed(pd.read_csv(sm.input.metrics[i], sep="\t"), split="valid")
        model = load_model(sm.input.models[i * len(seeds) + seeds.index(seed)], compile=False)
        kernel = positional_kernel(model)
        label = f"{variant}: CR {curvature:g} (seed {seed})"
        kernels[label] = kernel
        order, clusters = cluster_order(
            normalise_rows(kernel), clusters=sm.params.clusters, seed=sm.params.seed
        )
        rows.append(
            pd.DataFrame(
                {
                    "variant": variant,
                    "curvature": curvature,
                    "seed": seed,
                    "unit": order,
                    "cluster": clusters,
                    "row": np.arange(len(order)),
                }
            )
        )
        log.info(
            "%s: %d units x %d positions; units per cluster %s",
            label,
            *kernel.shape,
            np.bincount(clusters).tolist(),
        )
    write_tsv(pd.concat(rows, ignore_index=True), sm.output.table)
    title = f"{sm.params.title}: SFC positional weights by curvature regularisation (CR)"
    save(
        positional_weights(kernels, title, clusters=sm.params.clusters, seed=sm.params.seed),
        [sm.output.png, sm.output.pdf],
    )
