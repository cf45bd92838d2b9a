"""A run's training settings (sfcrepro.pipeline.settings): the determinism and float32-matmul keys
enter them only when they differ from the defaults, so that no existing model is retrained."""

import yaml
from conftest import ROOT

from sfcrepro.pipeline.settings import QUIET_DEFAULTS, TrainingSpec, training_settings

DATASET = {
    "architecture": "simulated_tf",
    "training": {"learning_rate": 1e-3, "batch_size": 100, "max_epochs": 50, "patience": 5},
    "variants": {"sep": {"head": "sep", "units": 648}},
}


def settings_with(**training):
    dataset = {**DATASET, "training": {**DATASET["training"], **training}}
    return training_settings(dataset, "sep", 0, "sim_tf/sep")


def test_defaults_leave_the_settings_as_they_were():
    before = settings_with()
    assert not set(QUIET_DEFAULTS) & set(before)
    for key, value in [
        ("deterministic", "auto"),
        ("float32_matmul", "high"),
        ("precision", "float32"),
    ]:
        assert settings_with(**{key: value}) == before, key
    spec = TrainingSpec(**before)
    assert (spec.deterministic, spec.float32_matmul) == ("auto", "high")


def test_other_values_enter_the_settings_and_the_spec():
    for key, value in [
        ("deterministic", True),
        ("deterministic", False),
        ("float32_matmul", "highest"),
    ]:
        settings = settings_with(**{key: value})
        assert settings[key] == value and settings != settings_with()  # retrains
        assert getattr(TrainingSpec(**settings), key) == value


def test_the_shipped_configs_train_at_the_defaults():
    # so their models' settings (and the trained models) are unchanged by the new keys
    for path in ("config/config.yaml", ".test/config/config.yaml"):
        config = yaml.safe_load((ROOT / path).read_text())
        for name, dataset in config["datasets"].items():
            assert not set(QUIET_DEFAULTS) & set(dataset.get("training", {})), (path, name)
