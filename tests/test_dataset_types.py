"""The dataset-type table (sfcrepro.data.dataset_types) against the schema and the shipped configs."""

import numpy as np
import pytest
import yaml
from conftest import GENOME_OVERLAY, ROOT, TINY
from snakemake.utils import validate

from sfcrepro.data.dataset_types import DATASET_TYPES, dataset_type, types_where
from sfcrepro.pipeline.config import check, planted_motifs, tasks_of, training_sets

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def test_the_table_not_the_schema_names_the_types():
    schema = yaml.safe_load(SCHEMA.read_text())
    dataset = schema["properties"]["datasets"]["additionalProperties"]
    assert dataset["properties"]["type"]["type"] == "string"
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["sim_tf"]["type"] = "simulated_TF"
    validate(config, str(SCHEMA))
    assert check(config) == [
        "datasets.sim_tf.type is 'simulated_TF'; the types are "
        f"{', '.join(DATASET_TYPES)} (sfcrepro.data.dataset_types)."
    ]


def test_flags_select_the_types():
    assert types_where(genome=True) == ("simulated_access", "invivo_tf", "invivo_access", "peaks")
    assert types_where(tracks=True) == ("invivo_tf", "invivo_access", "peaks")
    assert types_where(user=True) == ("sequences", "peaks")
    assert types_where(per_task_models=True) == ("invivo_tf",)
    with pytest.raises(ValueError, match="Unknown dataset type 'bigwig'; the types are"):
        dataset_type({"type": "bigwig"})


@pytest.fixture(scope="module")
def every_type():
    """The tiny config with the genome overlay and the example configs: every type once or more."""
    config = yaml.safe_load(TINY.read_text())
    config["datasets"] |= yaml.safe_load(GENOME_OVERLAY.read_text())["datasets"]
    for example in ("deeplift_simdata.yaml", "hg38_peaks.yaml"):
        extra = yaml.safe_load((ROOT / "config" / "examples" / example).read_text())
        config["datasets"] |= {n: ds for n, ds in extra["datasets"].items() if "type" in ds}
        config["genomes"] = config.get("genomes", {}) | extra.get("genomes", {})
    config["genomes"]["tiny"] = {"url": "http://127.0.0.1/genome.fa.gz"}
    validate(config, str(SCHEMA))
    return config


def test_tasks_planted_motifs_and_training_sets_of_every_type(every_type):
    datasets = every_type["datasets"]
    assert {ds["type"] for ds in datasets.values()} == set(DATASET_TYPES)
    assert tasks_of(datasets["sim_tf"]) == ["both", "TAL1_known1", "GATA_disc1"]
    assert planted_motifs(datasets["sim_tf"]) == ["TAL1_known1", "GATA_disc1"]
    assert tasks_of(datasets["sim_access"]) == ["E116", "E123"]
    assert planted_motifs(datasets["sim_access"]) == ["CTCF_known1", "GATA_known1"]
    assert tasks_of(datasets["invivo_tf"]) == ["CTCF", "GATA1"]
    assert tasks_of(datasets["invivo_access"]) == ["HSC", "MPP", "LSC"]
    with pytest.raises(ValueError, match="A invivo_access dataset plants no motifs"):
        planted_motifs(datasets["invivo_access"])
    sets = training_sets(every_type)
    assert sets["invivo_tf/CTCF"] == sets["invivo_tf/GATA1"] == "invivo_tf"
    assert sets["sim_access"] == "sim_access" and "invivo_tf" not in sets
    # Attribution needs planted motifs: the simulations, and sequences from a .simdata file.
    scorable = {name for name, ds in datasets.items() if dataset_type(ds).attribution(ds)}
    assert scorable == {"sim_tf", "sim_access", "deeplift_sim"}
    assert planted_motifs(datasets["deeplift_sim"]) == datasets["deeplift_sim"]["planted"]


# A new dataset type is one entry of the table plus its builder (docs/development.md, "Where to
# change what"): tests/toy_dataset_type/ holds both, and its sitecustomize.py adds the entry in
# every Python process that has the folder on PYTHONPATH, as a shipped entry would be.
TOY_FOLDER = ROOT / "tests" / "toy_dataset_type"


def toy_sequences(path, n=60, length=50, seed=3):
    rng = np.random.default_rng(seed)
    gc = rng.choice([0.3, 0.7], size=n)
    lines = [
        "".join(rng.choice(list("ACGT"), length, p=[(1 - g) / 2, g / 2, g / 2, (1 - g) / 2]))
        for g in gc
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def toy_dataset(source):
    return {
        "type": "toy_gc",
        "title": "Toy GC",
        "seed": 5,
        "sequences": {"url": str(source)},
        "tasks": ["gc_rich"],
        "architecture": "simulated_tf",
        "training": {"learning_rate": 0.01, "batch_size": 12, "max_epochs": 1, "patience": 1},
        "baseline": "std",
        "variants": {"std": {"head": "std"}, "sep": {"head": "sep", "units": 4}},
    }


def test_a_toy_type_through_the_table_alone_builds_in_process(tmp_path, monkeypatch):
    from sfcrepro.data.dataset_types import build
    from sfcrepro.data.datasets import read_dataset

    monkeypatch.syspath_prepend(str(TOY_FOLDER))
    import toy_gc

    monkeypatch.setitem(DATASET_TYPES, "toy_gc", toy_gc.TOY)
    source = toy_sequences(tmp_path / "toy.txt")
    config = yaml.safe_load(TINY.read_text())
    config["datasets"] = {"toy": toy_dataset(source)}
    config["figures"] = {"performance": {"split": "valid"}}
    validate(config, str(SCHEMA))
    assert check(config) == []
    assert tasks_of(config["datasets"]["toy"]) == ["gc_rich"]
    outputs = {split: str(tmp_path / f"{split}.h5") for split in ("train", "valid", "test")}
    counts = build(config["datasets"]["toy"], {"sequences": str(source)}, outputs)
    assert counts == {"train": 36, "valid": 12, "test": 12}
    sequences, labels, tasks = read_dataset(outputs["train"])
    assert sequences.shape == (36, 50) and tasks == ["gc_rich"]
    assert 0 < labels.mean() < 1
    with pytest.raises(ValueError, match="has no builder: its own rules build it"):
        build({"type": "simulated_tf"}, {}, outputs)


@pytest.mark.slow
def test_a_toy_type_through_the_table_alone_runs_in_the_workflow(tmp_path):
    """The generic rule build_dataset builds it from its downloaded source, then the usual rules
    train, evaluate and summarise it: no rule, script or Snakefile line of its own."""
    import os

    import pandas as pd
    from conftest import job_counts, snakemake

    source = toy_sequences(tmp_path / "toy.txt")
    overlay = tmp_path / "toy.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "seeds": [0],
                "datasets": {"sim_tf": {"enabled": False}, "toy": toy_dataset(source)},
            }
        )
    )
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TOY_FOLDER), os.environ.get("PYTHONPATH")]))
    }
    dry = snakemake(tmp_path, [TINY, overlay], "--dry-run", "--quiet", "rules", env=env)
    assert dry.returncode == 0, dry.stderr[-3000:]
    counts = job_counts(dry.stdout)
    assert counts["build_dataset"] == 1 and counts["train"] == 2 and counts["evaluate"] == 2
    proc = snakemake(tmp_path, [TINY, overlay], "--cores", "2", "results/summary.tsv", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (tmp_path / "logs" / "build_dataset" / "toy.log").read_text()
    assert "examples: {'train': 36, 'valid': 12, 'test': 12}" in log
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t")
    assert set(summary["dataset"]) == {"toy"} and set(summary["variant"]) == {"std", "sep"}
    assert summary["median"].between(0, 1).all()
