"""Effect sizes of several pipeline runs side by side: the forest plot and tables of
docs/results.md ("Does SFC help?").

Each run is a folder where the pipeline ran (its ``results/``); the effects are the pipeline's
own tables, read as written: ``results/summary.tsv`` (performance), every
``results/attribution/<dataset>_summary.tsv`` (attribution accuracy) and, with ``--sweeps``, the
sweep summaries ``results/figures/*_summary.tsv``. Nothing is recomputed here, so rerun the
pipeline in a run's folder first if its tables predate the effect-size columns (Snakemake reruns
only the summaries).

    python benchmarks/effects_across_runs.py \\
        --run "Simulated TF binding, 10 seeds=/path/to/run" \\
        --run "DeepLIFT TAL1/GATA, 10 seeds=/path/to/other" \\
        --png docs/images/effect_sizes.png --markdown effects.md

``--markdown`` writes one table per run: measure, variant, median difference with its interval,
seeds and Wilcoxon p.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sfcrepro.pipeline.effects import forest_rows
from sfcrepro.pipeline.figures import effect_sizes, save


def run_rows(folder: Path, label: str) -> pd.DataFrame:
    """The forest rows of one run, its datasets named ``label`` (and the dataset when several)."""
    results = folder / "results"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    if "median_difference" not in summary.columns:
        raise SystemExit(
            f"{results / 'summary.tsv'} has no effect-size columns: rerun the pipeline there "
            "with the current code (only the summaries are redone)."
        )
    attribution = {
        path.name.removesuffix("_summary.tsv"): pd.read_csv(path, sep="\t")
        for path in sorted((results / "attribution").glob("*_summary.tsv"))
    }
    rows = forest_rows(summary, attribution)
    several = rows["dataset"].nunique() > 1
    return rows.assign(
        dataset=[f"{label} ({name})" if several else label for name in rows["dataset"]]
    )


def markdown(rows: pd.DataFrame) -> str:
    """One table per run label: effect, interval, seeds and Wilcoxon p per measure and variant."""
    out = []
    for label, part in rows.groupby("dataset", sort=False):
        out += [
            f"### {label}",
            "",
            "| measure | variant | median difference [95% interval] | seeds | Wilcoxon p |",
            "|---|---|---|---|---|",
        ]
        for row in part.itertuples():
            out.append(
                f"| {row.measure} | {row.variant} - {row.baseline} | "
                f"{row.median_difference:+.4f} [{row.ci_low:+.4f}, {row.ci_high:+.4f}] | "
                f"{row.n_seeds} | {row.wilcoxon_p:.3g} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="LABEL=FOLDER")
    parser.add_argument("--png", type=Path, help="forest plot to write")
    parser.add_argument("--markdown", type=Path, help="tables to write")
    parser.add_argument("--title", default="Does SFC help? Effect sizes against std")
    args = parser.parse_args(argv)
    parts = []
    for item in args.run:
        label, sep, folder = item.partition("=")
        if not sep:
            parser.error(f"--run {item!r}: expected LABEL=FOLDER")
        parts.append(run_rows(Path(folder), label))
    rows = pd.concat(parts, ignore_index=True)
    print(rows.to_string(index=False))
    if args.png:
        save(effect_sizes(rows, title=args.title), [args.png])
    if args.markdown:
        args.markdown.write_text(markdown(rows))


if __name__ == "__main__":
    main()
