"""End-to-end: the real Snakemake workflow on the tiny configuration in .test/config/."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pandas as pd
import pytest
import yaml
from conftest import ROOT, TINY, job_counts, rule_kind, snakemake

FIGURES = [
    "fig2_performance",
    "effect_sizes",
    "fig3_learning_curves",
    "fig4a_importance_sim_tf",
    "figS1_lr_robustness",
    "training_size_sim_tf",
    "attribution_sim_tf",
    "fig4a_seeds_sim_tf",
    "discovery_sim_tf_std",
    "discovery_sim_tf_sep",
    "discovery_sim_tf_symm",
]


@pytest.fixture(scope="module")
def run(tiny_run):
    """The whole tiny workflow (conftest.tiny_run: one run per session, shared)."""
    return tiny_run


@pytest.mark.slow
def test_every_output_is_produced(run):
    workdir, proc = run
    results = workdir / "results"
    for split in ("train", "valid", "test"):
        with h5py.File(results / "datasets" / "sim_tf" / f"{split}.h5") as h5:
            assert h5["sequences"].dtype == "uint8" and h5["sequences"].shape[1] == 200
            assert list(h5.attrs["tasks"]) == ["both", "TAL1_known1", "GATA_disc1"]
            assert "tables/motifs" in h5
    for variant in ("std", "sep", "symm"):
        for seed in (0, 1):
            model_dir = results / "models" / "sim_tf" / variant / f"seed{seed}"
            assert (model_dir / "model.keras").stat().st_size > 0
            history = pd.read_csv(model_dir / "history.tsv", sep="\t")
            assert len(history) >= 1 and history["val_auroc"].between(0, 1).all()
        importance = pd.read_csv(results / "importance" / "sim_tf" / f"{variant}.tsv", sep="\t")
        assert len(importance) == 200 and importance["n_sequences"].iloc[0] == 200
    metrics = pd.read_csv(results / "metrics" / "sim_tf.tsv", sep="\t")
    assert list(metrics.columns) == [
        "dataset",
        "variant",
        "seed",
        "split",
        "task",
        "auroc",
        "auprc",
    ]
    assert len(metrics) == 3 * 2 * 2 * 3  # variants x seeds x splits x tasks
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert set(summary["variant"]) == {"std", "sep", "symm"} and set(summary["metric"]) == {
        "auroc",
        "auprc",
    }
    assert {"iqr", "brown_forsythe_p", "failed_seeds"} <= set(summary.columns)
    assert summary["failed_seeds"].between(0, 2).all() and (summary["iqr"] >= 0).all()
    # effect sizes: the SFC variants' paired difference from std, inside its bootstrap interval
    sfc = summary[summary["variant"] != "std"]
    assert sfc[["median_difference", "ci_low", "ci_high"]].notna().all().all()
    assert (sfc["ci_low"] <= sfc["median_difference"]).all()
    assert (sfc["median_difference"] <= sfc["ci_high"]).all()
    effects = pd.read_csv(results / "figures" / "effect_sizes.tsv", sep="\t")
    assert set(effects["group"]) == {"performance", "attribution"}
    assert set(effects["variant"]) == {"sep", "symm"}
    assert len(effects) == 2 * (2 * 2 + 4 * 2)  # variants x (splits x metrics + methods x metrics)
    for name in FIGURES:
        for suffix in ("png", "pdf"):
            assert (results / "figures" / f"{name}.{suffix}").stat().st_size > 1000
    assert not list(results.rglob(".*tmp-*")), "temporary files were left behind"
    scores = pd.read_csv(results / "figures" / "fig4a_importance_sim_tf.tsv", sep="\t")
    assert (
        list(scores["variant"]) == ["std", "sep", "symm"]
        and scores["symmetry"].between(-1, 1).all()
    )
    assert "results/figures/fig2_performance.png" in proc.stderr  # where the figures are


@pytest.mark.slow
def test_attribution_scored_for_every_seed_and_method(run):
    workdir, _ = run
    results = workdir / "results"
    scores = pd.read_csv(results / "attribution" / "sim_tf.tsv", sep="\t")
    methods = ["gradient_x_input", "integrated_gradients", "deeplift_shap", "in_silico_mutagenesis"]
    assert sorted(zip(scores["variant"], scores["seed"], scores["method"], strict=True)) == sorted(
        (v, s, m) for v in ("std", "sep", "symm") for s in (0, 1) for m in methods
    )
    assert scores["auroc"].between(0, 1).all() and (scores["n_sequences"] > 0).all()
    assert set(scores["task"]) == {"TAL1_known1"}
    summary = pd.read_csv(results / "attribution" / "sim_tf_summary.tsv", sep="\t")
    assert len(summary) == 3 * 4 * 2  # variants x methods x metrics
    assert summary.query("variant == 'std'")["wilcoxon_p"].isna().all()
    assert summary.query("variant != 'std'")["ci_low"].notna().all()
    curves = pd.read_csv(results / "attribution" / "sim_tf_curves.tsv", sep="\t")
    assert (
        set(curves["metric"]) == {"symmetry", "smoothness"}
        and curves["best_seed"].isin([0, 1]).all()
    )
    with h5py.File(results / "attribution" / "sim_tf" / "sep.h5") as h5:
        assert h5["scores"].shape == h5["hypothetical"].shape == (2, 24, 200, 4)
        assert h5["sequences"].shape == (24, 200) and h5.attrs["method"] == "deeplift_shap"
    found = pd.read_csv(results / "discovery" / "sim_tf.tsv", sep="\t")
    assert sorted(zip(found["variant"], found["motif"], strict=True)) == sorted(
        (v, m) for v in ("std", "sep", "symm") for m in ("TAL1_known1", "GATA_disc1")
    )
    patterns = pd.read_csv(results / "discovery" / "sim_tf_patterns.tsv", sep="\t")
    assert list(patterns.columns[:3]) == ["variant", "pattern", "n_seqlets"] or patterns.empty


@pytest.mark.slow
def started_jobs(log):
    """``(rule, wildcards)`` of every job in a Snakemake log, in the order the jobs started."""
    jobs, rule = [], None
    for line in log.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            rule = line.split()[1].rstrip(":")
            jobs.append((rule, ""))
        elif line.startswith("wildcards:") and rule is not None:
            jobs[-1] = (rule, line.removeprefix("wildcards:").strip())
            rule = None
    return jobs


@pytest.mark.slow
def test_variants_train_in_turn_and_their_follow_up_goes_first(run):
    # On 2 cores: std's seeds train (one job: execution.seeds_per_job is 2), then sep's, then
    # symm's, then the learning-rate figure's runs; std's evaluation and attribution start as
    # soon as std is trained, before symm's training (the priorities of common.smk). The log
    # lists jobs in the order they started.
    _, proc = run
    jobs = started_jobs(proc.stderr)
    train = [i for i, (r, _) in enumerate(jobs) if r == "train_seeds0to1"]
    variants = [jobs[i][1].split("variant=")[1].split(",")[0] for i in train]
    assert variants == ["std", "sep", "symm"], jobs
    first_symm = train[variants.index("symm")]
    assert jobs.index(("evaluate", "trainset=sim_tf, variant=std")) < first_symm, jobs
    assert jobs.index(("attribution_simulated_tf", "dataset=sim_tf, variant=std")) < first_symm
    lr = [i for i, (r, _) in enumerate(jobs) if rule_kind(r) == "train_lr"]
    assert lr and min(lr) > max(train), jobs


def test_logs_show_progress(run):
    workdir, _ = run
    log = (workdir / "logs" / "train" / "sim_tf" / "sep" / "seeds0-1.log").read_text()
    for seed in (0, 1):
        assert f"sim_tf/sep seed {seed} epoch 1/3" in log and f"seed {seed}: best epoch" in log
    assert "2 run(s) on cpu (tensorflow backend): one after another" in log


@pytest.mark.slow
def test_lr_robustness_reuses_main_models_and_trains_the_rest(run):
    workdir, _ = run
    table = pd.read_csv(workdir / "results" / "figures" / "figS1_lr_robustness.tsv", sep="\t")
    assert len(table) == 2 * 2 * 2  # variants x learning rates x seeds
    assert table["val_auroc"].between(0, 1).all()
    runs = {(r.variant, r.learning_rate, r.seed): r.history for r in table.itertuples()}
    # The variants' own rate at a main seed is the main model; anything else is trained for the figure.
    assert runs[("std", 0.001, 0)] == "results/models/sim_tf/std/seed0/history.tsv"
    assert runs[("symm", 0.001, 2)] == "results/lr_robustness/sim_tf/symm/lr0.001/seed2/history.tsv"
    assert runs[("symm", 0.01, 0)] == "results/lr_robustness/sim_tf/symm/lr0.01/seed0/history.tsv"
    assert not (
        workdir / "results" / "lr_robustness" / "sim_tf" / "std" / "lr0.001" / "seed0"
    ).exists()
    # The figure's seeds 0 (a main seed) and 2 train in jobs of their own: at the variants' own
    # rate only seed 2 is trained, seed 0 being the main model.
    logs = workdir / "logs" / "train_lr" / "sim_tf" / "symm"
    log = (logs / "lr0.01" / "seed2.log").read_text()
    assert "'learning_rate': 0.01" in log and "sim_tf/symm/lr0.01 seed 2 epoch 1/3" in log
    assert "sim_tf/symm/lr0.001 seed 2: best epoch" in (logs / "lr0.001" / "seed2.log").read_text()
    assert not (logs / "lr0.001" / "seed0.log").exists()


@pytest.mark.slow
def test_training_size_runs_nested_subsets_and_reuses_main_models(run):
    workdir, _ = run
    results = workdir / "results"
    table = pd.read_csv(results / "figures" / "training_size_sim_tf.tsv", sep="\t")
    runs = {(r.variant, r.per_class, r.seed): r.history for r in table.itertuples()}
    assert set(runs) == {(v, n, 0) for v in ("std", "gap") for n in (20, 60)}
    # The whole split (60 per class) at a main seed of a main-run variant is the main model; the
    # gap head is not in the main run (enabled: false), so it has no main model and trains here.
    assert runs[("std", 60, 0)] == "results/models/sim_tf/std/seed0/history.tsv"
    assert runs[("gap", 60, 0)] == "results/training_size/sim_tf/gap/n60/seed0/history.tsv"
    assert not (results / "models" / "sim_tf" / "gap").exists()
    assert "gap" not in set(pd.read_csv(results / "summary.tsv", sep="\t")["variant"])
    log = (workdir / "logs" / "train_size" / "sim_tf" / "std" / "n20" / "seed0.log").read_text()
    assert "training subset of 20 per class, 80 of 240 sequences" in log
    assert "'train_per_class': 20" in log
    summary = pd.read_csv(results / "figures" / "training_size_sim_tf_summary.tsv", sep="\t")
    assert list(summary.columns[:4]) == ["dataset", "per_class", "variant", "metric"]
    assert len(summary) == 2 * 2 * 2  # sizes x variants x metrics
    assert summary.loc[summary["variant"] == "std", "wilcoxon_p"].isna().all()
    assert {"iqr", "median_difference", "ci_low", "ci_high", "brown_forsythe_p"} <= set(
        summary.columns
    )
    lr = pd.read_csv(results / "figures" / "figS1_lr_robustness_summary.tsv", sep="\t")
    assert list(lr.columns[:4]) == ["dataset", "learning_rate", "variant", "metric"]
    assert len(lr) == 2 * 2 * 2 and (lr["n_seeds"] == 2).all()


def test_second_run_has_nothing_to_do(run):
    workdir, _ = run
    proc = snakemake(workdir, TINY, "--dry-run", "--cores", "1")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_config_typo_fails_before_any_job(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["sim_tf"]["training"]["max_epoch"] = 3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, path, "--dry-run", "--cores", "1")
    assert proc.returncode != 0
    assert "max_epoch" in proc.stdout + proc.stderr and not (tmp_path / "results").exists()


def test_motif_file_url_becomes_a_download(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["sim_tf"]["simulation"]["motif_file"] = {
        "url": "http://127.0.0.1:9/motifs/encode.txt.gz"
    }
    path = tmp_path / "motifs.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, path, "--dry-run", "--cores", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "resources/downloads/encode.txt.gz" in out and "rule download:" in out


def test_snakemake_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, TINY, "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_snakefmt_clean():
    snakefmt = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which(
        "snakefmt"
    )
    assert snakefmt, "snakefmt is a test dependency (pip install '.[test]')"
    proc = subprocess.run(
        [snakefmt, "--check", "Snakefile", "workflow"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def readme_job_counts():
    """The job-count table of docs/running.md ("Reproduce the paper"), linked from the README."""
    text = (ROOT / "docs/running.md").read_text()
    section = text[text.index("| rule | jobs |") :]
    counts = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rule, jobs = [cell.strip(" `") for cell in line.strip("|").split("|")[:2]]
        counts[rule] = int(jobs)
    return counts


def test_paper_config_dry_run_matches_the_readme(tmp_path):
    proc = snakemake(
        tmp_path, ROOT / "config/config.yaml", "--dry-run", "--quiet", "rules", timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    # 2 jobs of 5 seeds (execution.seeds_per_job) x (4 sim_tf + 4 sim_access + 3 TFs x 4
    # invivo_tf + 6 invivo_access variants)
    assert counts["train"] == 2 * (4 + 4 + 12 + 6)
    assert counts["train_lr"] == 4 * 3 * 2  # variants x learning rates other than 1e-3 x jobs
    assert counts["train_size"] == 4 * 4 * 2  # variants x sizes below the whole split x jobs
    assert counts["tf_examples"] == counts["build_invivo_tf"] == 3
    assert counts["evaluate"] + counts["evaluate_regions"] == 26  # 4 sim_tf + 22 genome-derived
    assert counts["attribution_tracks"] == counts["evaluate_regions"] - 4  # not sim_access
    assert counts.pop("total") == 227
    assert counts["check_gpu"] == 1
    assert readme_job_counts() == counts


@pytest.mark.slow
def test_required_gpu_missing_stops_before_any_model(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU, also on a machine that has one
    proc = snakemake(
        tmp_path, TINY, "--cores", "2", "--config", "require_gpu=True", timeout=600, env=env
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert (
        "require_gpu is true but the tensorflow backend sees no GPU" in out
    )  # the log, shown by profiles/default
    assert "Error in rule check_gpu" in out
    assert not list((tmp_path / "results").rglob("model.keras"))


def test_paper_config_dry_run_lists_the_16_hematopoiesis_cell_types(tmp_path):
    target = "results/regions/invivo_access/calls.tsv.gz"
    proc = snakemake(tmp_path, ROOT / "config/config.yaml", "--dry-run", target, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cells = "HSC, MPP, LMPP, CMP, GMP, MEP, Mono, CD4, CD8, NK, B, CLP, Ery, pHSC, LSC, Blast"
    assert f"accessibility_calls (invivo_access): calls for 16 cell types ({cells})" in proc.stdout
