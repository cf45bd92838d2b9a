"""Snakemake script: the split files of labelled regions from their genome sequence; real for the
in vivo datasets (hematopoiesis windows, or one TF's regions), shuffled with TF motifs inserted
at the summits for simulated accessibility (the rule's inputs then include ``summits``)."""

import pandas as pd
import pyfaidx

from sfcrepro.data.genome_datasets import build_regions
from sfcrepro.data.motifs import default_motif_file, get_motif, read_motifs
from sfcrepro.data.sim_access import build_sim_access, check_motif_lengths
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    regions = pd.read_csv(sm.input.regions, sep="\t", dtype={"chrom": str})
    build, motif_options = build_regions, {}
    if "summits" in sm.input.keys():
        motif_file = sm.input.motifs[0] if sm.input.motifs else default_motif_file()
        library = read_motifs(motif_file)
        motifs = {
            tf: get_motif(library, name, f"motif file {motif_file}")
            for tf, name in sm.params.motif_names.items()
        }
        log.info(
            "motifs from %s: %s",
            motif_file,
            ", ".join(f"{tf} {pwm.name} ({len(pwm)} bp)" for tf, pwm in motifs.items()),
        )
        if len(regions):
            check_motif_lengths(
                motifs,
                int(regions["end"].iloc[0] - regions["start"].iloc[0]),
                f"motif file {motif_file}",
            )
        build = build_sim_access
        motif_options = {"summits": pd.read_csv(sm.input.summits, sep="\t"), "motifs": motifs}
    counts = build(
        regions=regions,
        tasks=sm.params.tasks,
        genome=pyfaidx.Fasta(sm.input.fasta),
        outputs=dict(zip(["train", "valid", "test"], sm.output, strict=False)),
        seed=sm.params.seed,
        splits=sm.params.splits,
        max_n_fraction=sm.params.max_n_fraction,
        **motif_options,
    )
    log.info("examples: %s", counts)
