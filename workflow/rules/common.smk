# Configuration loading and validation, shared names, paths and the targets of `rule all`.
import os
import re
import sys
from pathlib import Path

from snakemake.utils import validate

# The package lives in src/; make it importable here and in every job, also where it is not
# installed (e.g. conda environments made by --sdm conda).
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)

from sfcrepro.config import check, enabled_datasets, training_settings


validate(config, schema="../schemas/config.schema.yaml")
_problems = check(config)
if _problems:
    raise ValueError(
        "Invalid configuration:\n  - " + "\n  - ".join(_problems)
    )

SEEDS = config["seeds"]
SPLITS = ["train", "valid", "test"]
DATASETS = enabled_datasets(config)
SIMULATED_TF = [name for name, ds in DATASETS.items() if ds["type"] == "simulated_tf"]
FIGURES = config["figures"]
ENV = "../../envs/sfcrepro.yaml"


def one_of(names):
    """A wildcard regex matching exactly these names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(DATASETS),
    variant="[A-Za-z0-9][A-Za-z0-9_-]*",
    split=one_of(SPLITS),
    seed=r"\d+",


def variants(dataset):
    return list(DATASETS[dataset]["variants"])


def dataset_file(dataset, split):
    return f"results/datasets/{dataset}/{split}.h5"


def model_files(dataset, variant, name="model.keras"):
    return expand(
        "results/models/{dataset}/{variant}/seed{seed}/{name}",
        dataset=dataset,
        variant=variant,
        seed=SEEDS,
        name=name,
    )


def figure_files(name):
    return [f"results/figures/{name}.png", f"results/figures/{name}.pdf"]


def enabled_figure(name):
    """Whether a figure's dataset is configured and enabled."""
    return name in FIGURES and FIGURES[name]["dataset"] in DATASETS


def all_outputs():
    """Every final output the configuration asks for."""
    targets = ["results/summary.tsv"]
    targets += expand("results/metrics/{dataset}.tsv", dataset=DATASETS)
    targets += figure_files("fig2_performance")
    if enabled_figure("learning_curves"):
        targets += figure_files("fig3_learning_curves")
    if enabled_figure("importance_sim_tf"):
        targets += figure_files("fig4a_importance_sim_tf")
    return targets


def print_outputs():
    figures = sorted(str(p) for p in Path("results/figures").glob("*.png"))
    print("\nsfcrepro: done. Figures (PNG, with PDF next to each):", file=sys.stderr)
    for path in figures:
        print(f"  {path}", file=sys.stderr)
    print("Scores: results/summary.tsv and results/metrics/<dataset>.tsv", file=sys.stderr)
