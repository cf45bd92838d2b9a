"""profiles/slurm: the tiny workflow through a real single-node SLURM cluster started by the test.

The cluster (tests/slurm_cluster.py) is this machine with partitions `cpu` and `gpu` and two GPUs
declared for scheduling only. The profile is used as shipped, except for its EDIT placeholders
(partitions `cpu`/`gpu`, no account) and sizes cut to what this node has. A wrapper first on PATH
records every `sbatch` call, so the test checks the arguments each rule was submitted with, and
SLURM's own record of the jobs (`scontrol show job`).
"""

import os
import re
import shlex
import subprocess

import pytest
import yaml
from conftest import HANG_GUARD, ROOT, TINY, rule_kind, snakemake_command
from slurm_cluster import SlurmCluster

from sfcrepro.pipeline.sweeps import SWEEPS

PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
LOCAL_RULES = {
    "download",
    "collect_metrics",
    "summary",
    "fig2_performance",
    "effect_sizes",
    "fig3_learning_curves",
    "fig4_importance",
    "fig5_positional_weights",
    "figS1_lr_robustness",
    "training_size_figure",
    "attribution_summary",
    "discovery_summary",
}
GPU_RULES = {
    "check_gpu",
    "train",
    "train_lr",
    "train_size",
    "importance_simulated_tf",
    "importance_regions",
    "attribution_simulated_tf",
    "attribution_regions",
    "attribution_tracks",
}


def rule_bodies():
    """{rule name: its text} of every rule in workflow/rules/."""
    text = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    # "rule name:" and "use rule other as name with:"; then name, body, name, body, ...
    blocks = re.split(r"^\s*(?:rule|use rule \w+ as) (\w+)(?: with)?:", text, flags=re.M)[1:]
    return dict(zip(blocks[::2], blocks[1::2], strict=False))


def test_profile_names_real_rules_and_sends_gpu_rules_to_the_gpu_partition():
    profile = yaml.safe_load(PROFILE.read_text())
    # the training rules are made per group of seeds; profiles name their kind (train.smk)
    rules = set(rule_bodies()) | {"train", "train_lr", "train_size"}
    assert set(profile["set-resources"]) <= rules, set(profile["set-resources"]) - rules
    assert set(profile["set-threads"]) <= rules, set(profile["set-threads"]) - rules
    assert profile["slurm-status-command"] == "squeue"  # sacct needs slurmdbd; without it runs hang
    assert profile["default-resources"]["slurm_partition"] == "<cpu-partition>"
    for rule in GPU_RULES:
        resources = profile["set-resources"][rule]
        assert resources["slurm_partition"] == "<gpu-partition>", rule
        assert resources["cpus_per_gpu"] >= 1, rule
    for rule, resources in profile["set-resources"].items():
        if rule not in GPU_RULES:
            assert "slurm_partition" not in resources and "cpus_per_gpu" not in resources, rule
    # cpus_per_task would override cpus_per_gpu for the GPU rules
    assert "cpus_per_task" not in profile["default-resources"]
    assert not set(profile["set-resources"]) & LOCAL_RULES


def test_downloads_and_figures_are_local_rules():
    local = {name for name, body in rule_bodies().items() if "localrule: True" in body}
    # The sweeps' figure rules are made in one loop over the registry (figures.smk), named there.
    figures = (ROOT / "workflow" / "rules" / "figures.smk").read_text()
    loop = figures[figures.index("for key, plan in SWEEP_PLANS.items():") :]
    assert "name:\n            sweep.figure_rule" in loop and "localrule: True" in loop
    local |= {sweep.figure_rule for sweep in SWEEPS.values()}
    assert local == LOCAL_RULES


class Resources(dict):
    """A job's resources as the plugin reads them (``.get`` and attributes)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(name) from err


def profile_job(rule, gpus_per_job):
    """A stand-in for a Snakemake job of ``rule`` under the shipped profile (placeholders
    filled): the profile's default and per-rule resources, and the rule's own ``gpu``."""
    profile = yaml.safe_load(
        PROFILE.read_text().replace("<cpu-partition>", "cpu").replace("<gpu-partition>", "gpu")
    )
    resources = Resources(
        {**profile["default-resources"], **profile["set-resources"].get(rule, {})}
    )
    if rule in GPU_RULES:
        resources["gpu"] = gpus_per_job
    threads = profile.get("set-threads", {}).get(rule, 1)
    return type("Job", (), {"resources": resources, "threads": threads, "name": rule})()


@pytest.mark.parametrize("gpus_per_job", [1, 2])
def test_a_gpu_job_is_one_task_however_many_gpus_it_takes(gpus_per_job):
    # The plugin's own argument builders (snakemake-executor-plugin-slurm 2.8.0, jobstep 0.6.1):
    # sbatch asks for the GPUs with no per-GPU task count (which would start the job once per
    # GPU), and the job step inside the allocation runs one task holding all of them.
    pytest.importorskip("snakemake_executor_plugin_slurm")
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm_jobstep import Executor, get_gpu_setting

    params = {
        "run_uuid": "u",
        "slurm_logfile": "log",
        "comment_str": "rule_x",
        "account": "",
        "partition": "-p gpu",
        "workdir": "/w",
    }
    for rule in ("check_gpu", "train", "importance_simulated_tf", "attribution_regions"):
        job = profile_job(rule, gpus_per_job)
        sbatch = get_submit_command(job, params) + set_gres_string(job)
        assert f"--gpus={gpus_per_job}" in sbatch, sbatch
        assert "--ntasks" not in sbatch, sbatch  # neither --ntasks nor --ntasks-per-gpu
        assert f"--cpus-per-gpu={job.resources['cpus_per_gpu']}" in sbatch, sbatch
        assert get_gpu_setting(job) == f"--gpus={gpus_per_job}"
    # the job step: `srun -n1 ... --gpus=N ...`, one task
    import inspect

    assert 'call = "srun -n1 ' in inspect.getsource(Executor.run_job)
    job = profile_job("evaluate", gpus_per_job)
    assert "--ntasks=1" in get_submit_command(job, {**params, "partition": "-p cpu"})


def test_profile_asks_for_no_task_per_gpu():
    # tasks: 0 keeps plugin releases 1.6.0-2.7.0 from adding --ntasks-per-gpu=1 (a job started
    # once per GPU when gpus_per_job > 1); 2.7.1 and later add it only when asked.
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["default-resources"]["tasks"] == 0
    for rule, resources in profile["set-resources"].items():
        assert not {"tasks", "tasks_per_gpu"} & set(resources), rule


def cluster_profile(tmp_path, cpus):
    """The shipped profile with its placeholders filled for the test cluster, sized to this node."""
    text = PROFILE.read_text()
    assert "<gpu-partition>" in text and "<cpu-partition>" in text and "<account>" in text
    text = text.replace("<cpu-partition>", "cpu").replace("<gpu-partition>", "gpu")
    profile = yaml.safe_load(text)
    del profile["default-resources"]["slurm_account"]
    profile["slurm-no-account"] = True
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        if "mem_mb" in resources:
            resources["mem_mb"] = 1000
        for key in ("cpus_per_task", "cpus_per_gpu"):
            if key in resources:
                resources[key] = min(resources[key], cpus)
    profile["set-threads"] = {
        rule: min(n, cpus) for rule, n in profile.get("set-threads", {}).items()
    }
    profile["jobs"] = 4
    # The one-node test cluster answers at once: poll it every few seconds rather than the
    # shipped profile's 20 s (kind to a shared slurmctld), which left the run mostly waiting.
    profile["slurm-init-seconds-before-status-checks"] = 3
    folder = tmp_path / "profile"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder, profile


def sbatch_recorder(tmp_path):
    """A directory with an `sbatch` that records `<job id> TAB <arguments>` and calls the real one.

    Each call writes its own file: Snakemake submits several jobs at once, and appends of long
    argument lists to one shared log can interleave (bash's printf may split them into several
    writes), which once left a record without its tab.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "sbatch.calls"
    calls.mkdir()
    real = subprocess.run(["which", "sbatch"], capture_output=True, text=True).stdout.strip()
    script = bin_dir / "sbatch"
    script.write_text(f"""#!/bin/bash
out=$({real} "$@"); rc=$?
record=$(mktemp {shlex.quote(str(calls))}/call.XXXXXX)
printf '%s\\t%s' "$out" "$*" > "$record"
echo "$out"
exit $rc
""")
    script.chmod(0o755)
    return bin_dir, calls


def parse_calls(calls_dir):
    """{rule: [(job id, arguments), ...]} from the recorder's files (the rule is in --comment)."""
    calls = {}
    for record in sorted(calls_dir.iterdir()):
        job_id, args = record.read_text().split("\t", 1)
        rule = re.search(r"--comment rule_(\w+?)(?:_wildcards_\S*)?\s", args + " ").group(1)
        calls.setdefault(rule_kind(rule), []).append((job_id.split(";")[0], args))
    return calls


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = SlurmCluster.unavailable()
    if reason:
        pytest.skip(f"no SLURM cluster can be started here: {reason}")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
def test_tiny_workflow_runs_on_slurm_with_the_profile(cluster, tmp_path):
    profile_dir, profile = cluster_profile(tmp_path, cluster.cpus)
    bin_dir, calls_dir = sbatch_recorder(tmp_path)
    config = yaml.safe_load(TINY.read_text())
    config["seeds"] = [0]  # one model per variant: the point is the submission, not the science
    config["figures"].pop("lr_robustness")
    config["figures"].pop("training_size")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    workdir = tmp_path / "run"
    cmd = [
        *("timeout", "-k", "20", str(HANG_GUARD)),
        *snakemake_command(workdir, config_path, "--profile", str(profile_dir)),
    ]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=HANG_GUARD + 60)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:] + cluster.logs()

    results = workdir / "results"
    assert (results / "summary.tsv").stat().st_size > 0
    for name in ("fig2_performance", "fig3_learning_curves", "fig4a_importance_sim_tf"):
        assert (results / "figures" / f"{name}.png").stat().st_size > 1000
    assert "gpus: 0" in (results / "check_gpu.txt").read_text()  # the GPU is declared, not real

    calls = parse_calls(calls_dir)
    assert set(calls) == {
        "check_gpu",
        "simulate_tf_binding",
        "train",
        "evaluate",
        "importance_simulated_tf",
        "attribution_simulated_tf",
        "motif_discovery",
    }
    assert len(calls["train"]) == 3 and len(calls["simulate_tf_binding"]) == 3
    resources = profile["set-resources"]
    for rule in ("check_gpu", "train", "importance_simulated_tf", "attribution_simulated_tf"):
        for _job_id, args in calls[rule]:
            assert "-p gpu" in args and "--gpus=1" in args, args
            assert f"--cpus-per-gpu={resources[rule]['cpus_per_gpu']}" in args, args
            assert (
                f"--mem {resources[rule]['mem_mb']}" in args
                and f"-t {resources[rule]['runtime']}" in args
            ), args
    for rule in ("simulate_tf_binding", "evaluate", "motif_discovery"):
        for _job_id, args in calls[rule]:
            assert "-p cpu" in args and "--gpus" not in args and "--cpus-per-task=" in args, args
    # SLURM's own record: the training jobs ran in the GPU partition holding the GPU.
    job = cluster.job(calls["train"][0][0])
    assert (
        job["Partition"] == "gpu"
        and "gpu:1" in job["TresPerJob"]
        and job["JobState"] == "COMPLETED"
    ), job
    job = cluster.job(calls["simulate_tf_binding"][0][0])
    assert job["Partition"] == "cpu" and "gpu" not in job.get("TresPerJob", ""), job


@pytest.mark.slow
def test_a_job_of_two_gpus_runs_once_with_slurms_allocation(cluster, tmp_path):
    # gpus_per_job: 2 on the two declared GPUs: one sbatch with --gpus=2 and one task; inside,
    # the job keeps SLURM's allocation (no GPU slots are taken under SLURM).
    profile_dir, _ = cluster_profile(tmp_path, cluster.cpus)
    bin_dir, calls_dir = sbatch_recorder(tmp_path)
    config = yaml.safe_load(TINY.read_text())
    config["gpus_per_job"] = 2
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    workdir = tmp_path / "run"
    cmd = [
        *("timeout", "-k", "20", str(HANG_GUARD)),
        *snakemake_command(
            workdir, config_path, "--profile", str(profile_dir), "results/check_gpu.txt"
        ),
    ]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=HANG_GUARD + 60)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:] + cluster.logs()
    calls = parse_calls(calls_dir)
    assert list(calls) == ["check_gpu"] and len(calls["check_gpu"]) == 1, calls
    job_id, args = calls["check_gpu"][0]
    assert "--gpus=2" in args and "--ntasks" not in args, args
    job = cluster.job(job_id)
    assert job["NumTasks"] == "1" and "gpu:2" in job["TresPerJob"], job
    assert job["JobState"] == "COMPLETED", job
    log = (workdir / "logs" / "check_gpu.log").read_text()
    assert log.count("keeping SLURM's GPUs") == 1, log
    assert not (workdir / ".snakemake" / "gpu-slots").exists()
