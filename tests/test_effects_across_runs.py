"""Tests of benchmarks/effects_across_runs.py on two hand-made run folders."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from sfcrepro.data.io import write_tsv
from sfcrepro.pipeline.effects import Bootstrap
from sfcrepro.pipeline.evaluate import METRIC_COLUMNS, summarize

spec = importlib.util.spec_from_file_location(
    "effects_across_runs", ROOT / "benchmarks" / "effects_across_runs.py"
)
across = importlib.util.module_from_spec(spec)
spec.loader.exec_module(across)


def write_run(folder, gain, seeds=10):
    """A run folder whose summary.tsv compares sep (std + gain per seed) with std."""
    rng = np.random.default_rng(0)
    base = 0.98 + rng.normal(0, 0.002, seeds)
    rows = [
        ["ds", variant, seed, split, "t", value, value - 0.01]
        for variant, values in (("std", base), ("sep", base + gain))
        for seed, value in enumerate(values)
        for split in ("valid", "test")
    ]
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    summary = summarize(metrics, {"ds": "std"}, 0.6, Bootstrap(1000, 0.95, 0))
    (folder / "results").mkdir(parents=True)
    write_tsv(summary, folder / "results" / "summary.tsv")
    return summary


def test_two_runs_give_one_plot_and_a_table_each(tmp_path):
    write_run(tmp_path / "a", gain=np.linspace(0.001, 0.003, 10))
    write_run(tmp_path / "b", gain=np.linspace(-0.003, 0.003, 10))
    png, table = tmp_path / "forest.png", tmp_path / "effects.md"
    across.main(
        ["--run", f"first={tmp_path / 'a'}", "--run", f"second={tmp_path / 'b'}"]
        + ["--png", str(png), "--markdown", str(table)]
    )
    assert png.stat().st_size > 1000
    text = table.read_text()
    assert text.count("### ") == 2 and "| valid auROC | sep - std | +0.0020 [" in text
    assert "| 10 |" in text


def test_a_summary_without_effects_names_what_to_do(tmp_path):
    summary = write_run(tmp_path / "old", gain=np.full(10, 0.001))
    write_tsv(summary.drop(columns=["median_difference"]), tmp_path / "old/results/summary.tsv")
    with pytest.raises(SystemExit, match="no effect-size columns: rerun the pipeline"):
        across.main(["--run", f"old={tmp_path / 'old'}"])
