"""Snakemake script: every variant's motif-discovery tables side by side."""

import pandas as pd

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    for key in ("found", "patterns"):
        table = pd.concat(
            [
                pd.read_csv(path, sep="\t").assign(variant=path.split("/")[-1].split(".")[0])
                for path in sm.input[key]
            ]
        )
        table["variant"] = table["variant"].str.removesuffix("_patterns")
        table = table[["variant"] + [c for c in table.columns if c != "variant"]]
        write_tsv(table, sm.output[key], float_format="%.6g")
    log.info("\n%s", pd.read_csv(sm.output.found, sep="\t").to_string(index=False))
