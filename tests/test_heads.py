"""The head registry (sfcrepro.network.heads): every entry resolves, and a new head added through it alone
is accepted by the configuration check, built by every architecture, counted, explained by
DeepLIFT-SHAP and fast ISM, and trained on the tiny configuration's simulated data."""

import copy

import keras
import numpy as np
import pytest
import yaml
from conftest import ROOT, TINY
from snakemake.utils import validate

from sfcrepro.data.datasets import read_dataset
from sfcrepro.data.simulate import write_simulated_tf_split
from sfcrepro.explain.attribution import completeness_gap, deeplift_shap, shuffled_references
from sfcrepro.explain.ism import ism
from sfcrepro.network import heads, models
from sfcrepro.pipeline.config import check
from sfcrepro.pipeline.settings import training_settings
from sfcrepro.pipeline.train import TrainingSpec, train

pytestmark = pytest.mark.usefixtures("keras_runtime")


def pooled_head(x, **options):
    """A toy head: average pooling over windows of 5 positions, then flatten."""
    x = keras.layers.AveragePooling1D(5, name="toy_pool")(x)
    return keras.layers.Flatten(name="flatten")(x)


TOY = heads.Head(
    "pooled",
    "average pooling over 5 positions, then flatten (a test head)",
    builder="test_heads:pooled_head",
    layers=("keras.layers:AveragePooling1D", "keras.layers:Flatten"),
)


@pytest.fixture
def toy_head():
    heads.register(TOY)
    yield TOY
    del heads.HEADS[TOY.name]
    heads.layer_types.cache_clear()


def test_every_registered_head_resolves():
    assert list(heads.HEADS) == ["std", "sep", "symm", "gap"]
    assert heads.positional() == ("sep", "symm")
    for name in heads.HEADS:
        model = models.build_model("simulated_tf", head=name, units=4)
        assert model.name == f"simulated_tf_{name}"
    assert {cls.__name__ for cls in heads.layer_types()} == {
        "Flatten",
        "SeparableFC",
        "GlobalAveragePooling1D",
    }
    with pytest.raises(ValueError, match="Unknown head 'dense'; choose one of std, sep, symm"):
        heads.get("dense")
    with pytest.raises(ValueError, match="'sep' is registered already"):
        heads.register(heads.HEADS["sep"])


def test_flops_count_the_sfc_layer_through_the_registry():
    std = models.training_flops_per_example(models.simulated_tf("std"))
    sep = models.training_flops_per_example(models.simulated_tf("sep", units=10))
    layer = models.simulated_tf("sep", units=10).get_layer("sfc")
    assert heads.macs(layer) == 35 * 50 * 10
    assert sep - std == 6 * (35 * 50 * 10 + 10 * 50 - 35 * 50 * 50)  # SFC, then Dense(10 -> 50)


def test_a_new_head_is_one_registry_entry_and_its_builder(toy_head, tmp_path):
    # The configuration check takes it, curvature on it does not pass.
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["sim_tf"]["variants"]["pooled"] = {"head": "pooled"}
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert check(config) == []
    curved = copy.deepcopy(config)
    curved["datasets"]["sim_tf"]["variants"]["pooled"]["curvature"] = 1.0
    assert any("curvature needs a head with positional weights" in p for p in check(curved))

    # Every architecture builds it.
    for architecture, length in (("simulated_tf", 200), ("tf_binding", 300), ("basset", 250)):
        model = models.build_model(architecture, head="pooled", length=length)
        assert model.get_layer("toy_pool") is not None

    # DeepLIFT-SHAP treats its layers as affine (complete scores), fast ISM equals naive ISM.
    keras.utils.set_random_seed(1)
    model = models.simulated_tf("pooled")
    x = np.eye(4, dtype="float32")[np.random.default_rng(3).integers(0, 4, (3, 200))]
    refs = shuffled_references(x, 3, seed=4)
    scores = deeplift_shap(model, x, 0, references=refs).scores
    np.testing.assert_allclose(completeness_gap(model, x, 0, scores, refs), 0, atol=1e-4)
    np.testing.assert_allclose(
        ism(model, x[:1], 0, method="fast"), ism(model, x[:1], 0, method="naive"), atol=1e-5
    )

    # It trains on the tiny configuration's simulated TF-binding data, through the settings the
    # workflow gives a variant.
    ds = config["datasets"]["sim_tf"]
    ds["simulation"] |= {"per_class": {"train": 30, "valid": 10, "test": 10}}
    for split in ("train", "valid"):
        write_simulated_tf_split(ds["simulation"], split, ds["seed"], tmp_path / f"{split}.h5")
    settings = training_settings(ds, "pooled", 0, "sim_tf/pooled") | {"max_epochs": 2}
    history = train(
        TrainingSpec(**settings),
        tmp_path / "train.h5",
        tmp_path / "valid.h5",
        tmp_path / "model.keras",
        tmp_path / "history.tsv",
    )
    assert len(history) == 2 and np.isfinite(history[["loss", "val_loss"]]).all(axis=None)
    trained = models.load_model(tmp_path / "model.keras")
    assert trained.get_layer("toy_pool") is not None
    sequences = read_dataset(tmp_path / "valid.h5")[0]
    assert trained.predict(np.eye(4, dtype="float32")[sequences], verbose=0).shape == (
        40,
        3,
    )  # 4 classes x 10, 3 tasks
