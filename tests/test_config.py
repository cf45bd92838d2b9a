"""The configuration: schema validation and the cross-checks of sfcrepro.pipeline.config."""

import copy

import pandas as pd
import pytest
import yaml
from conftest import EXPECTED_SAMPLES, PAPER_CELL_TYPES, ROOT
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from sfcrepro.pipeline.config import (
    check,
    download_names,
    duplicate_keys,
    enabled_datasets,
    sources_of,
    tasks_of,
    url_problems,
)
from sfcrepro.pipeline.settings import EXECUTION_DEFAULTS
from sfcrepro.pipeline.train import Execution

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture(params=["config/config.yaml", ".test/config/config.yaml"])
def config(request):
    """A shipped config as the workflow sees it: validated, the schema's defaults filled."""
    config = yaml.safe_load((ROOT / request.param).read_text())
    validate(config, SCHEMA)
    return config


def test_shipped_configs_are_valid(config):
    validate(config, SCHEMA)
    assert check(config) == []
    assert config["threads"]["train"] >= 1  # defaults filled in by the schema
    assert set(config["execution"]) == set(EXECUTION_DEFAULTS)


def test_schema_execution_defaults_are_the_packages():
    config = {"seeds": [0], "datasets": {}}
    validate(config, SCHEMA)
    assert config["execution"] == EXECUTION_DEFAULTS
    Execution.from_config(config["execution"])  # and the package accepts them


def test_paper_config_has_ten_seeds_and_the_four_heads():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert config["seeds"] == list(range(10))
    sim = config["datasets"]["sim_tf"]
    assert {v["head"] for v in sim["variants"].values()} == {"std", "sep", "symm", "gap"}
    assert config["figures"]["lr_robustness"]["seeds"] == list(range(10))
    size = config["figures"]["training_size"]
    assert size["per_class"] == [100, 200, 400, 800, 1600] and size["seeds"] == list(range(10))
    assert size["variants"] == ["std", "sep", "symm", "gap"]
    assert sim["simulation"]["per_class"]["train"] == 1600
    assert sim["importance"]["sequences"] == 100_000


@pytest.mark.parametrize(
    "path,value,message",
    [
        (("datasets", "sim_tf", "training", "lerning_rate"), 0.1, "lerning_rate"),
        (("datasets", "sim_tf", "seed"), "seven", "seven"),
        (("seeds",), [1, 1], "non-unique|unique"),
        (("datasets", "sim tf"), {}, "sim tf"),
        (("datasets", "sim_tf", "variants", "a/b"), {"head": "std"}, "a/b"),
        (("datasets", "sim_tf", "variants", "$(touch x)"), {"head": "std"}, "touch x"),
        (
            (
                "datasets",
                "..",
            ),
            {},
            "'\\.\\.'",
        ),
        (("datasets", "x" * 101), {}, "x{101}"),
        (("datasets", "sim_tf", "training", "batch_size"), "64", "'64' is not of type 'integer'"),
        (("figures", "learning_curves", "variants"), "std", "'std' is not of type 'array'"),
        (("datasets", "sim_tf", "training", "precision"), "float16", r"\['precision'\]"),
        (("execution", "seeds_per_job"), 0, r"\['seeds_per_job'\]"),
        (("execution", "together"), "yes", r"\['together'\]"),
        (("execution", "steps_per_execution"), 2.5, r"\['steps_per_execution'\]"),
        (("execution", "jit_compile"), "xla", r"\['jit_compile'\]"),
        (("execution", "stack"), True, "'stack' was unexpected"),
        (("execution", "steps_per_execution"), 0, r"\['steps_per_execution'\]"),
        (("execution", "steps_per_execution"), "all", r"\['steps_per_execution'\]"),
        (("execution", "checkpoint_every"), -1, r"\['checkpoint_every'\]"),
        (("jobs_per_gpu",), 0, r"\['jobs_per_gpu'\]"),
        (("datasets", "sim_tf", "training", "deterministic"), "yes", r"\['deterministic'\]"),
        (("datasets", "sim_tf", "training", "float32_matmul"), "tf32", r"\['float32_matmul'\]"),
    ],
)
def test_schema_rejects_typos_and_bad_values(config, path, value, message):
    bad = copy.deepcopy(config)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(WorkflowError, match=message):
        validate(bad, SCHEMA)


def test_schema_gpu_and_training_precision_settings(config):
    assert config["jobs_per_gpu"] >= 1  # the default (4) filled in, or the config's
    good = copy.deepcopy(config)
    good["jobs_per_gpu"] = 1
    good["execution"] |= {"steps_per_execution": 8, "checkpoint_every": 0}
    for deterministic in ("auto", True, False):
        for matmul in ("high", "highest"):
            training = good["datasets"]["sim_tf"]["training"]
            training |= {"deterministic": deterministic, "float32_matmul": matmul}
            validate(good, SCHEMA)
    good["execution"]["steps_per_execution"] = "auto"
    validate(good, SCHEMA)


def test_an_unknown_head_is_named_with_the_registered_ones(config):
    # The schema leaves head names to the registry (sfcrepro.network.heads), so that a new head is one
    # entry there; check() stops on a name it does not hold.
    bad = copy.deepcopy(config)
    bad["datasets"]["sim_tf"]["variants"]["sep"]["head"] = "dense"
    validate(bad, SCHEMA)
    assert any(
        "datasets.sim_tf.variants.sep.head is 'dense'; the heads are std, sep, symm, gap" in p
        for p in check(bad)
    )


def test_schema_variant_units_and_curvature_norm(config):
    good = copy.deepcopy(config)
    variants = good["datasets"]["sim_tf"]["variants"]
    variants["sep_m"] = {"head": "sep", "units": "matched"}
    variants["sep_paper"] = {"head": "sep", "units": None}
    variants["symm_l2"] = {"head": "symm", "curvature": 1.0, "curvature_norm": "l2"}
    variants["symm_l1"] = {"head": "symm", "curvature": 1.0, "curvature_norm": "l1"}
    validate(good, SCHEMA)
    for key, value in (
        ("units", "paper"),
        ("units", 0),
        ("curvature_norm", "l3"),
        ("curvature_norm", None),
    ):
        bad = copy.deepcopy(config)
        bad["datasets"]["sim_tf"]["variants"]["sep"][key] = value
        with pytest.raises(WorkflowError):
            validate(bad, SCHEMA)


def test_schema_class_weight_balanced_or_positive_weight():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for value in ({"positive": 5}, {"positive": 0.5}, "balanced", None):
        good = copy.deepcopy(config)
        good["datasets"]["invivo_tf"]["training"]["class_weight"] = value
        validate(good, SCHEMA)
        assert check(good) == []
    for value in (
        {"positive": -1},
        {"positive": 0},
        {"positive": "5"},
        {"negative": 2},
        {"positive": 5, "negative": 1},
        {},
        "auto",
    ):
        bad = copy.deepcopy(config)
        bad["datasets"]["invivo_tf"]["training"]["class_weight"] = value
        with pytest.raises(WorkflowError):
            validate(bad, SCHEMA)


def test_cross_checks_name_the_key_and_the_choices(config):
    bad = copy.deepcopy(config)
    sim = bad["datasets"]["sim_tf"]
    sim["baseline"] = "dense"
    sim["importance"]["task"] = "TAL1"
    sim["variants"]["odd"] = {"head": "std", "curvature": 1.0}
    bad["figures"]["learning_curves"]["variants"] = ["std", "nope"]
    problems = check(bad)
    assert any(
        "datasets.sim_tf.baseline is 'dense'" in p and "std, sep, symm" in p for p in problems
    )
    assert any("importance.task is 'TAL1'" in p and "TAL1_known1" in p for p in problems)
    assert any(
        "variants.odd: curvature needs a head with positional weights (sep or symm)" in p
        for p in problems
    )
    assert any("figures.learning_curves.variants names nope" in p for p in problems)


def test_enabled_and_tasks(config):
    config["datasets"]["sim_tf"]["enabled"] = False
    assert "sim_tf" not in enabled_datasets(config)
    assert tasks_of(config["datasets"]["sim_tf"]) == ["both", "TAL1_known1", "GATA_disc1"]


def test_offline_overlay_leaves_only_offline_datasets():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    offline = yaml.safe_load((ROOT / "config/offline.yaml").read_text())
    for name, changes in offline["datasets"].items():
        config["datasets"][name].update(changes)
    assert list(enabled_datasets(config)) == ["sim_tf"]
    assert sources_of(config) == []  # nothing to download


def test_paper_sim_access_sources_and_names():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    sim = config["datasets"]["sim_access"]
    assert tasks_of(sim) == ["E116", "E123"]
    names = download_names(sources_of(config, {"sim_access": sim}))
    assert len(names) == 1 + 2 + 5  # genome, two cell types, five TFs
    assert names[config["genomes"]["hg19"]["url"]] == "hg19.fa.gz"


def test_download_names_disambiguate_clashes_only():
    names = download_names(
        [{"url": "http://a/x/E116.gz"}, {"url": "http://b/E116.gz"}, {"url": "/data/hg19.fa.gz"}]
    )
    assert names["/data/hg19.fa.gz"] == "hg19.fa.gz"
    assert names["http://a/x/E116.gz"] != names["http://b/E116.gz"]
    assert all(n.endswith("-E116.gz") for u, n in names.items() if "E116" in u)


def test_url_schemes_and_genome_reference(config):
    bad = copy.deepcopy(config)
    bad.setdefault("genomes", {})["g"] = {"url": "s3://bucket/genome.fa.gz"}
    with pytest.raises(WorkflowError, match="s3://"):
        validate(bad, SCHEMA)
    bad = copy.deepcopy(config)
    bad["datasets"]["acc"] = {
        "type": "simulated_access",
        "genome": "hg37",
        "seed": 1,
        "architecture": "basset",
        "cell_types": {"a": {"url": "/x"}},
        "tfs": {},
        "training": {},
        "variants": {"std": {"head": "std"}},
        "splits": {"valid": ["chr1"], "test": ["chr1"]},
    }
    validate(bad, SCHEMA)
    problems = check(bad)
    assert any("datasets.acc.genome is 'hg37'" in p for p in problems)
    assert any("chr1 is in both valid and test" in p for p in problems)


# The 132 sample columns of GSE74912_ATACseq_All_Counts.txt.gz with their cell types (copied from
# public sample tables, see tests/data/README.md); the sample tables spell some cell types
# otherwise than the paper (and our config) does.
CORCES_COLUMNS = pd.read_csv(ROOT / "tests/data/GSE74912_sample_columns.tsv", sep="\t")
TABLE_NAMES = {"CD4Tcell": "CD4", "CD8Tcell": "CD8", "NKcell": "NK", "Bcell": "B"}


def paper_sample_patterns():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    return {
        cell: entry["pattern"]
        for cell, entry in config["datasets"]["invivo_access"]["samples"].items()
    }


def test_paper_invivo_access_has_the_16_cell_types():
    assert list(paper_sample_patterns()) == PAPER_CELL_TYPES
    assert len(CORCES_COLUMNS) == 132 and CORCES_COLUMNS["column"].is_unique


@pytest.mark.parametrize("cell", PAPER_CELL_TYPES)
def test_paper_pattern_takes_exactly_the_samples_of_its_cell_type(cell):
    import re

    pattern = paper_sample_patterns()[cell]
    taken = [c for c in CORCES_COLUMNS["column"] if re.search(pattern, c)]
    listed = CORCES_COLUMNS.loc[
        CORCES_COLUMNS["cell_type"].replace(TABLE_NAMES) == cell, "column"
    ].tolist()
    assert taken == listed
    assert len(taken) == EXPECTED_SAMPLES[cell]


def test_paper_patterns_map_every_column_once_and_leave_the_cd34_columns():
    from sfcrepro.data.invivo import map_samples

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    unused = config["datasets"]["invivo_access"]["unused_samples"]
    assert unused == ["BM-CD34-1", "BM-CD34-2", "CB102-CD34-150627"]
    # raises on a double match and on an unclaimed column unused_samples does not list
    groups = map_samples(CORCES_COLUMNS["column"].tolist(), paper_sample_patterns(), unused)
    used = {column for columns in groups.values() for column in columns}
    assert sorted(set(CORCES_COLUMNS["column"]) - used) == unused
    assert set(config["datasets"]["invivo_access"]["variants"]) >= {
        "std",
        "sep",
        "symm",
        "low_reg",
        "high_reg",
        "very_high_reg",
    }


def test_paper_invivo_tf_one_training_set_per_tf():
    from sfcrepro.pipeline.config import split_training_set, training_sets

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    validate(config, SCHEMA)
    ds = config["datasets"]["invivo_tf"]
    assert tasks_of(ds) == ["CTCF", "MAX", "SPI1"]
    assert (
        ds["architecture"] == "tf_binding" and ds["top_relaxed"] == 150_000 and ds["length"] == 1000
    )
    assert {name: v.get("units") for name, v in ds["variants"].items()} == {
        "std": None,
        "sep": 18,
        "sep_matched": 11,
        "symm": 18,
    }
    assert ds["training"]["class_weight"] == "balanced"
    sets = training_sets(config)
    assert [s for s, owner in sets.items() if owner == "invivo_tf"] == [
        "invivo_tf/CTCF",
        "invivo_tf/MAX",
        "invivo_tf/SPI1",
    ]
    assert sets["sim_tf"] == "sim_tf" and split_training_set("invivo_tf/MAX") == (
        "invivo_tf",
        "MAX",
    )
    assert split_training_set("sim_tf") == ("sim_tf", None)
    # E116 DNase and the GM12878 CTCF peaks are shared with sim_access: downloaded once.
    urls = [s["url"] for s in sources_of(config, {"invivo_tf": ds})]
    assert len(urls) == 1 + 1 + 3 and ds["dnase"]["url"] in urls
    assert len(download_names(sources_of(config))) == 11


def test_invivo_tf_entries_and_class_weight_checks():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    bad = copy.deepcopy(config)
    bad["datasets"]["invivo_tf"]["tfs"]["MAX"]["motif"] = (
        "MAX_known1"  # not a key of in vivo TF entries
    )
    with pytest.raises(WorkflowError, match="motif"):
        validate(bad, SCHEMA)
    bad = copy.deepcopy(config)
    del bad["datasets"]["invivo_tf"]["dnase"]
    with pytest.raises(WorkflowError, match="dnase"):
        validate(bad, SCHEMA)
    bad = copy.deepcopy(config)
    bad["datasets"]["sim_tf"]["training"]["class_weight"] = "balanced"
    validate(bad, SCHEMA)
    assert any(
        "datasets.sim_tf.training.class_weight applies to single-task data" in p for p in check(bad)
    )
    relaxed = copy.deepcopy(config)
    relaxed["datasets"]["invivo_tf"]["tfs"]["MAX"]["relaxed"] = {
        "url": "/data/max_relaxed.narrowPeak.gz"
    }
    validate(relaxed, SCHEMA)
    assert "/data/max_relaxed.narrowPeak.gz" in [s["url"] for s in sources_of(relaxed)]


def test_a_shared_url_keeps_its_pin_and_conflicting_pins_are_rejected():
    from sfcrepro.pipeline.config import expected_sha256

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    validate(config, SCHEMA)
    e116 = config["datasets"]["invivo_tf"]["dnase"]["url"]
    assert (
        e116 == config["datasets"]["sim_access"]["cell_types"]["E116"]["url"]
    )  # one file, two entries
    config["datasets"]["sim_access"]["cell_types"]["E116"]["sha256"] = "A" * 64
    assert (
        expected_sha256(sources_of(config))[e116] == "a" * 64
    )  # the unpinned entry does not unpin it
    assert check(config) == []
    config["datasets"]["invivo_tf"]["dnase"]["sha256"] = "b" * 64
    assert any(f"{e116} is pinned to different sha256 values" in p for p in check(config))


def test_importance_figure_plans_and_checks():
    from sfcrepro.pipeline.config import importance_figures

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    validate(config, SCHEMA)
    plans = importance_figures(config)
    assert list(plans) == [
        "fig4a_importance_sim_tf",
        "fig4b_importance_invivo_tf",
        "fig4c_importance_invivo_access",
    ]
    assert (
        plans["fig4a_importance_sim_tf"]["simulated"]
        and plans["fig4a_importance_sim_tf"]["task"] == "TAL1_known1"
    )
    assert plans["fig4b_importance_invivo_tf"]["trainset"] == "invivo_tf/CTCF"
    assert (
        plans["fig4b_importance_invivo_tf"]["split"] == "test"
        and plans["fig4b_importance_invivo_tf"]["regions"] is None
    )
    c = plans["fig4c_importance_invivo_access"]
    assert (c["trainset"], c["task"], c["regions"]) == ("invivo_access", "MPP", 10_000)
    assert c["variants"] == ["std", "sep", "symm", "low_reg", "high_reg"]
    assert config["figures"]["positional_weights"]["variants"] == [
        "symm",
        "low_reg",
        "high_reg",
        "very_high_reg",
    ]
    curvatures = [
        config["datasets"]["invivo_access"]["variants"][v].get("curvature", 0)
        for v in config["figures"]["positional_weights"]["variants"]
    ]
    assert curvatures == [0, 1.0, 10.0, 100.0]
    # A disabled dataset's figures are not planned.
    config["datasets"]["invivo_tf"]["enabled"] = False
    assert "fig4b_importance_invivo_tf" not in importance_figures(config)

    bad = copy.deepcopy(config)
    bad["figures"]["importance_invivo_access"]["task"] = "MPPP"
    bad["figures"]["positional_weights"]["variants"] = ["std", "symm"]
    problems = check(bad)
    assert any(
        "figures.importance_invivo_access.task is 'MPPP'; the tasks of invivo_access are HSC, MPP"
        in p
        for p in problems
    )
    assert any("figures.positional_weights.variants: std has no SFC layer" in p for p in problems)
    bad = copy.deepcopy(config)
    bad["figures"]["importance_invivo_tf"]["dataset"] = "sim_tf"
    assert any("a simulated_tf dataset" in p for p in check(bad))


def test_keys_given_twice_are_found_with_their_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(
        "datasets:\n  acc:\n    cell_types:\n      HepG2: {url: a.bed}\n      K562: {url: b.bed}\n"
        "      HepG2: {url: c.bed}\nseeds: [0]\n"
    )
    assert yaml.safe_load(path.read_text())["datasets"]["acc"]["cell_types"]["HepG2"] == {
        "url": "c.bed"
    }  # silent
    (problem,) = duplicate_keys(path)
    assert problem.startswith(
        f"{path}, line 6: 'HepG2' is given twice in one mapping (first on line 4)"
    )
    assert duplicate_keys(ROOT / "config/config.yaml") == []


def test_names_differing_only_in_case_are_rejected(config):
    bad = copy.deepcopy(config)
    bad["datasets"]["SIM_TF"] = copy.deepcopy(bad["datasets"]["sim_tf"])
    bad["datasets"]["sim_tf"]["variants"]["SEP"] = {"head": "sep"}
    problems = check(bad)
    assert any(p.startswith("datasets: sim_tf and SIM_TF differ only in case") for p in problems)
    assert any(
        p.startswith("datasets.sim_tf.variants: sep and SEP differ only in case") for p in problems
    )


def test_unsupported_url_schemes_are_named_with_their_key(config):
    assert url_problems(config) == []
    bad = copy.deepcopy(config)
    bad["datasets"]["sim_tf"]["simulation"]["motif_file"] = {"url": "s3://bucket/m.txt"}
    bad["genomes"] = {
        "g": {"url": "file:///data/g.fa.gz"},
        "h": {"url": "data/h.fa"},
        "i": {"url": "ftp://x/i.fa"},
    }
    (problem,) = url_problems(bad)
    assert problem.startswith(
        "datasets.sim_tf.simulation.motif_file.url is 's3://bucket/m.txt': scheme 's3'"
    )


def test_no_source_names_the_dead_ucsc_host():
    import subprocess

    dead = (
        "hgdownload" + ".cse.ucsc.edu"
    )  # answers 403 since 2024; hgdownload.soe.ucsc.edu serves the same paths
    listed = subprocess.run(["git", "grep", "-l", dead], cwd=ROOT, capture_output=True, text=True)
    assert listed.stdout == "", f"{dead} in: {listed.stdout}"
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    urls = {entry["url"] for entry in sources_of(config) if "ucsc" in entry["url"]}
    assert len(urls) == 8 and all(
        url.startswith("http://hgdownload.soe.ucsc.edu/goldenPath/hg19/") for url in urls
    )


def test_unattested_spi1_file_name_is_marked_with_the_check():
    text = (ROOT / "config/config.yaml").read_text()
    lines = text.splitlines()
    spi1 = next(
        i for i, line in enumerate(lines) if "wgEncodeAwgTfbsHaibGm12878Pu1Pcr1xUniPk" in line
    )
    assert "files.txt" in lines[spi1 - 1] and "not attested" in lines[spi1 - 1].lower()


def test_windows_recipe_only_for_invivo_access_and_peaks():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert config["datasets"]["invivo_access"]["windows"]["recipe"] == "peaks"
    for recipe in ("peaks", "tiles"):
        ok = copy.deepcopy(config)
        ok["datasets"]["invivo_access"]["windows"]["recipe"] = recipe
        validate(ok, SCHEMA)
    bad = copy.deepcopy(config)
    bad["datasets"]["invivo_access"]["windows"]["recipe"] = "tile"
    with pytest.raises(WorkflowError, match=r"'tile' is not one of \['peaks', 'tiles'\]"):
        validate(bad, SCHEMA)
    bad = copy.deepcopy(config)
    bad["datasets"]["sim_access"]["windows"]["recipe"] = (
        "tiles"  # simulated accessibility always tiles
    )
    with pytest.raises(WorkflowError, match="windows.recipe is for invivo_access and peaks"):
        validate(bad, SCHEMA)
    absent = copy.deepcopy(config)
    del absent["datasets"]["invivo_access"]["windows"]["recipe"]
    validate(absent, SCHEMA)
    assert (
        "recipe" not in absent["datasets"]["invivo_access"]["windows"]
    )  # absent = peaks (windows_from_calls)


def test_attribution_block_is_checked(config):
    bad = copy.deepcopy(config)
    sim = bad["datasets"]["sim_tf"]
    sim["attribution"]["task"] = "TAL1"
    sim["attribution"]["methods"] = ["gradient_x_input"]
    problems = check(bad)
    assert any(
        "sim_tf.attribution.task is 'TAL1'; the tasks are both, TAL1_known1" in p for p in problems
    )
    assert any(
        "attribution.keep is 'deeplift_shap', which is not among its methods (gradient_x_input)"
        in p
        for p in problems
    )
    others = [
        name
        for name, ds in bad["datasets"].items()
        if ds["type"] not in ("simulated_tf", "simulated_access")
    ]
    for other in others:  # the paper config's other datasets
        bad["datasets"][other]["attribution"] = copy.deepcopy(sim["attribution"])
        assert any(f"datasets.{other}.attribution needs planted motifs" in p for p in check(bad))
    with pytest.raises(Exception, match="methods"):
        wrong = copy.deepcopy(config)
        wrong["datasets"]["sim_tf"]["attribution"]["methods"] = ["saliency"]
        validate(wrong, SCHEMA)


def test_disabled_variants_and_training_size_are_checked(config):
    bad = copy.deepcopy(config)
    sim = bad["datasets"]["sim_tf"]
    sim["variants"]["std"]["enabled"] = False
    bad["figures"]["training_size"] = {
        "dataset": "sim_tf",
        "variants": ["std", "sep"],
        "per_class": [10, 5000],
        "seeds": [0],
    }
    validate(bad, SCHEMA)
    problems = check(bad)
    full = sim["simulation"]["per_class"]["train"]
    assert any("datasets.sim_tf.baseline is 'std', which has enabled: false" in p for p in problems)
    assert any(
        f"figures.training_size.per_class: 5000 exceed the {full} training sequences per class" in p
        for p in problems
    )
    # Figures drawn from the main models cannot list a variant left out of the main run; the
    # training-size and learning-rate figures train their own.
    assert any("figures.learning_curves.variants: std has enabled: false" in p for p in problems)
    assert not any(p.startswith("figures.training_size.variants") for p in problems)
    sim["variants"] = {name: {**v, "enabled": False} for name, v in sim["variants"].items()}
    assert any("every variant has enabled: false" in p for p in check(bad))


def test_training_size_needs_simulated_tf_binding():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["figures"]["training_size"]["dataset"] = "sim_access"
    validate(config, SCHEMA)
    assert any(
        "figures.training_size.dataset is 'sim_access', a simulated_access dataset" in p
        for p in check(config)
    )


def test_offline_overlay_trains_gap_only_in_a_small_size_sweep():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    offline = yaml.safe_load((ROOT / "config/offline.yaml").read_text())
    assert offline["datasets"]["sim_tf"]["variants"] == {"gap": {"enabled": False}}
    sweep = offline["figures"]["training_size"]
    assert sweep["variants"] == ["std", "sep", "symm", "gap"]
    # the whole training split is one of the sizes: std, sep and symm reuse the main models there
    full = config["datasets"]["sim_tf"]["simulation"]["per_class"]["train"]
    assert full in sweep["per_class"] and min(sweep["per_class"]) < full
    assert set(sweep["seeds"]) <= set(config["seeds"]) and len(sweep["seeds"]) >= 2
    assert "gap" not in offline["figures"]["lr_robustness"]["variants"]
    assert config["datasets"]["sim_tf"]["variants"]["gap"] == {"head": "gap"}


def user_config(**dataset):
    """A validated config with one dataset of your own data (``sequences`` unless given)."""
    config = {
        "seeds": [0],
        "genomes": {"hg38": {"url": "http://127.0.0.1:9/hg38.fa.gz"}},
        "datasets": {
            "mine": {
                "type": "sequences",
                "sequences": {"url": "data/mine.tsv"},
                "tasks": ["bound"],
                "seed": 1,
                "architecture": "simulated_tf",
                "training": {},
                "variants": {"std": {"head": "std"}},
                **dataset,
            }
        },
    }
    validate(config, SCHEMA)
    return config


def test_sequence_format_from_the_file_name():
    from sfcrepro.data.dataset_types import sequence_format

    assert sequence_format("a/sequences.simdata.gz") == "simdata"
    assert sequence_format("x.FA.gz") == sequence_format("x.fasta") == "fasta"
    assert sequence_format("x.csv.gz") == sequence_format("x.tsv") == "table"
    assert sequence_format("x.fa", "table") == "table"


def test_user_data_tasks_and_sources():
    config = user_config(tasks={"task1": "both", "task2": "GATA_disc1"})
    assert tasks_of(config["datasets"]["mine"]) == ["both", "GATA_disc1"]
    assert check(config) == []
    peaks = user_config(
        type="peaks",
        genome="hg38",
        peaks={"K562": {"url": "k.bed"}, "GM12878": {"url": "g.bed"}},
        blacklist={"url": "black.bed"},
        architecture="basset",
        tasks=["unused"],
    )
    del peaks["datasets"]["mine"]["tasks"], peaks["datasets"]["mine"]["sequences"]
    assert tasks_of(peaks["datasets"]["mine"]) == ["K562", "GM12878"]
    urls = {s["url"] for s in sources_of(peaks)}
    assert urls == {"k.bed", "g.bed", "black.bed", "http://127.0.0.1:9/hg38.fa.gz"}
    assert check(peaks) == []


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"sequences": {"url": "x.fa.gz"}}, "give its labels as datasets.mine.labels"),
        ({"labels": {"url": "labels.tsv"}}, "labels is for FASTA sequences"),
        ({"split_fractions": {"valid": 0.5, "test": 0.5}}, "valid \\+ test must leave"),
        ({"importance": {"task": "bound", "sequences": 10}}, "importance.sequences is for"),
        ({"importance": {"task": "other"}}, "importance.task is 'other'"),
        ({"attribution": {"task": "bound", "sequences": 10}}, "needs planted motifs"),
        (
            {"sequences": {"url": "x.simdata"}, "attribution": {"task": "bound", "sequences": 10}},
            "add datasets.mine.planted",
        ),
    ],
)
def test_user_data_cross_checks(changes, message):
    problems = check(user_config(**changes))
    assert any(re_search(message, p) for p in problems), problems


def re_search(pattern, text):
    import re

    return re.search(pattern, text) is not None


def test_peaks_dataset_needs_peak_files_and_genome():
    config = user_config()
    config["datasets"]["mine"]["type"] = "peaks"
    with pytest.raises(WorkflowError, match="peaks|genome"):
        validate(config, SCHEMA)


@pytest.mark.parametrize(
    "overlays",
    [
        ["offline.yaml", "seeds30.yaml"],
        ["offline.yaml", "training_size5.yaml"],
        ["offline.yaml", "training_size5.yaml", "fixed_epochs.yaml"],
    ],
)
def test_effect_size_overlays_stack_on_the_offline_default(overlays):
    from snakemake.utils import update_config

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for name in overlays:
        update_config(config, yaml.safe_load((ROOT / "config" / name).read_text()))
    validate(config, SCHEMA)
    assert check(config) == []
    assert list(enabled_datasets(config)) == ["sim_tf"]
    training = config["datasets"]["sim_tf"]["training"]
    if "seeds30.yaml" in overlays:
        assert config["seeds"] == list(range(30))  # the main run's 10 seeds among them
    if "training_size5.yaml" in overlays:
        sweep = config["figures"]["training_size"]
        assert sweep["seeds"] == [0, 1, 2, 3, 4] and max(sweep["per_class"]) < 1600
    if "fixed_epochs.yaml" in overlays:
        # no early stopping: the patience outlasts the epochs; the other settings stay
        assert training["patience"] >= training["max_epochs"] == 50
        assert training["learning_rate"] == 0.001 and training["batch_size"] == 100
    else:
        assert training["patience"] == 5
