"""Snakemake script: TF-MoDISco patterns of one variant's attributions (every seed pooled),
matched with Tomtom, and whether the planted motifs are recovered."""

import os

sm = snakemake  # noqa: F821 (injected by Snakemake)
os.environ["NUMBA_NUM_THREADS"] = str(sm.threads)  # before numba is imported

from sfcrepro.data.io import write_tsv  # noqa: E402
from sfcrepro.pipeline.runtime import job_logging  # noqa: E402

with job_logging(sm.log[0]) as log:
    from sfcrepro.explain.discovery import discover_from_attributions, export_modisco_inputs
    from sfcrepro.pipeline.figures import plot_logos

    # The same pooled scores as modisco-lite's command line reads them, for your own runs.
    export_modisco_inputs(sm.input.h5, os.path.dirname(sm.output.ohe))

    patterns, table, found = discover_from_attributions(
        sm.input.h5,
        motif_file=sm.input.motifs[0] if sm.input.motifs else None,
        planted=sm.params.planted,
        **sm.params.settings,
    )
    found = found.assign(n_patterns_found=len(patterns), n_unmatched=found.attrs["n_unmatched"])
    log.info("patterns:\n%s", table.to_string(index=False))
    log.info("planted motifs:\n%s", found.to_string(index=False))
    write_tsv(table, sm.output.patterns, float_format="%.6g")
    write_tsv(found, sm.output.found, float_format="%.6g")
    largest = sorted(patterns, key=lambda pattern: pattern.n_seqlets, reverse=True)[:12]
    for path in (sm.output.png, sm.output.pdf):
        plot_logos(largest, path)
