"""Snakemake script: learning-rate robustness, validation auROC of the best epoch per run."""

import pandas as pd

from sfcrepro.evaluate import best_epoch
from sfcrepro.figures import lr_robustness, save
from sfcrepro.io import write_tsv
from sfcrepro.runtime import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    rows = []
    for (variant, rate, seed), path in zip(sm.params.runs, sm.input, strict=False):
        best = best_epoch(pd.read_csv(path, sep="\t"))
        rows.append(
            {
                "variant": variant,
                "learning_rate": rate,
                "seed": seed,
                "best_epoch": int(best["epoch"]),
                "val_loss": best["val_loss"],
                "val_auroc": best["val_auroc"],
                "val_auprc": best["val_auprc"],
                "history": path,
            }
        )
    scores = pd.DataFrame(rows)
    log.info(
        "median validation auROC:\n%s",
        scores.pivot_table(
            index="learning_rate", columns="variant", values="val_auroc", aggfunc="median"
        ),
    )
    write_tsv(scores, sm.output.table, float_format="%.6g")
    save(lr_robustness(scores, sm.params.title), [sm.output.png, sm.output.pdf])
