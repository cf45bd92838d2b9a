"""The sweeps registry (sfcrepro.pipeline.sweeps): run lists, path labels, reuse of main-run models, the
settings of a sweep's run, and that every entry has what the workflow needs."""

import inspect

import yaml
from conftest import ROOT

from sfcrepro.pipeline import figures, sweeps
from sfcrepro.pipeline.settings import TrainingSpec, training_settings

DATASET = {
    "architecture": "simulated_tf",
    "training": {"learning_rate": 0.001, "batch_size": 64},
    "simulation": {"per_class": {"train": 60}},
    "variants": {"std": {"head": "std"}, "fast": {"head": "std", "learning_rate": 0.01}},
}
LR = sweeps.SWEEPS["lr_robustness"]
SIZE = sweeps.SWEEPS["training_size"]


def history(sweep, plan, variant, value, seed, main_seeds=(0, 1)):
    return sweeps.history(sweep, plan, DATASET, ["std", "fast"], main_seeds, variant, value, seed)


def test_labels_write_values_as_paths_do():
    assert sweeps.label(LR, 1e-4) == "lr0.0001" and sweeps.label(LR, "0.01") == "lr0.01"
    assert sweeps.label(SIZE, 400) == "n400" and sweeps.label(SIZE, "60") == "n60"


def test_runs_in_variant_value_seed_order():
    plan = {"dataset": "sim_tf", "variants": ["std", "fast"], "per_class": [20, 60], "seeds": [1]}
    assert sweeps.runs(SIZE, plan) == [
        ("std", 20, 1),
        ("std", 60, 1),
        ("fast", 20, 1),
        ("fast", 60, 1),
    ]
    assert sweeps.figure_name(SIZE, plan) == "training_size_sim_tf"


def test_the_main_model_is_reused_only_for_the_same_training():
    plan = {"dataset": "sim_tf"}
    main = "results/models/sim_tf/{}/seed0/history.tsv"
    # the variant's own learning rate (the dataset's, or its own 0.01) at a main seed
    assert history(LR, plan, "std", 0.001, 0) == main.format("std")
    assert history(LR, plan, "fast", 0.01, 0) == main.format("fast")
    assert history(LR, plan, "fast", 0.001, 0) == (
        "results/lr_robustness/sim_tf/fast/lr0.001/seed0/history.tsv"
    )
    assert history(LR, plan, "std", 0.001, 5) == (
        "results/lr_robustness/sim_tf/std/lr0.001/seed5/history.tsv"
    )
    # the whole training split, only for main-run variants
    assert history(SIZE, plan, "std", 60, 1) == "results/models/sim_tf/std/seed1/history.tsv"
    assert history(SIZE, plan, "std", 20, 1) == (
        "results/training_size/sim_tf/std/n20/seed1/history.tsv"
    )
    assert sweeps.history(SIZE, plan, DATASET, ["fast"], [1], "std", 60, 1).startswith(
        "results/training_size/"
    )


def test_a_runs_settings_are_the_main_runs_with_the_value():
    main = training_settings(DATASET, "std", 3, "sim_tf/std")
    lr = sweeps.spec_settings(LR, DATASET, "sim_tf", "std", 3, "0.01")
    assert lr == main | {"learning_rate": 0.01, "name": "sim_tf/std/lr0.01"}
    size = sweeps.spec_settings(SIZE, DATASET, "sim_tf", "std", 3, "20")
    assert size == main | {"train_per_class": 20, "name": "sim_tf/std/n20"}
    assert TrainingSpec(**size).train_per_class == 20


def test_every_sweep_has_its_schema_entry_captions_and_figure_function():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    entries = schema["properties"]["figures"]["properties"]
    fields = {f for f in inspect.signature(TrainingSpec).parameters}
    for key, sweep in sweeps.SWEEPS.items():
        assert sweep.values in entries[key]["properties"], key
        assert sweep.setting in fields, key
        assert callable(getattr(figures, sweep.draw)), key
        for caption in (sweep.caption, f"{sweep.caption}_summary"):
            assert (ROOT / "workflow" / "report" / f"{caption}.rst").exists(), caption
    assert len({s.rule for s in sweeps.SWEEPS.values()} | {"train"}) == len(sweeps.SWEEPS) + 1
