"""The dataset-type table (sfcrepro.data.dataset_types) against the schema and the shipped configs."""

import pytest
import yaml
from conftest import GENOME_OVERLAY, ROOT, TINY
from snakemake.utils import validate

from sfcrepro.data.dataset_types import DATASET_TYPES, dataset_type, types_where
from sfcrepro.pipeline.config import planted_motifs, tasks_of, training_sets

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def test_the_schema_knows_exactly_the_table_types():
    schema = yaml.safe_load(SCHEMA.read_text())
    dataset = schema["properties"]["datasets"]["additionalProperties"]
    assert set(dataset["properties"]["type"]["enum"]) == set(DATASET_TYPES)


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
