"""Snakemake script: shuffle each region's sequence, insert TF motifs at summits, write the splits."""

import pandas as pd
import pyfaidx

from sfcrepro.motifs import default_motif_file, get_motif, read_motifs
from sfcrepro.runtime import job_logging
from sfcrepro.sim_access import build_sim_access, check_motif_lengths

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
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
    windows = pd.read_csv(sm.input.windows, sep="\t", dtype={"chrom": str})
    if len(windows):
        check_motif_lengths(
            motifs,
            int(windows["end"].iloc[0] - windows["start"].iloc[0]),
            f"motif file {motif_file}",
        )
    summits = pd.read_csv(sm.input.summits, sep="\t")
    counts = build_sim_access(
        windows,
        sm.params.tasks,
        summits,
        motifs,
        pyfaidx.Fasta(sm.input.fasta),
        dict(zip(["train", "valid", "test"], sm.output, strict=False)),
        seed=sm.params.seed,
        splits=sm.params.splits,
        max_n_fraction=sm.params.max_n_fraction,
    )
    log.info("examples: %s", counts)
