"""Reliability of the workflow as a whole: killed jobs, reruns, determinism and start-up checks.

Each test runs the real Snakemake workflow on a tiny configuration (derived from
``.test/config/config.yaml``). The per-module cases (bad peak lines, downloads, motif names, ...)
are tested next to their modules; docs/reliability.md lists every case and its test.
"""

import gzip
import os
import re
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import GENOME_OVERLAY, HANG_GUARD, ROOT, TINY, snakemake_command
from conftest import snakemake as run_snakemake

from sfcrepro.network.models import load_model

SIM_ACCESS = [f"results/datasets/sim_access/{split}.h5" for split in ("train", "valid", "test")]
SIM_TF = [f"results/datasets/sim_tf/{split}.h5" for split in ("train", "valid", "test")]
MODEL = "results/models/sim_tf/sep/seed0"


def write_config(path, edit=None):
    """The tiny config, edited by ``edit(config)``, written to ``path``."""
    config = yaml.safe_load(TINY.read_text())
    if edit:
        edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def command(workdir, config, *args):
    return snakemake_command(workdir, config, "--cores", "2", *args)


def snakemake(workdir, config, *args, timeout=HANG_GUARD):
    return run_snakemake(workdir, config, "--cores", "2", *args, timeout=timeout)


def kill_when(workdir, config, target, ready, timeout=HANG_GUARD):
    """Start Snakemake for ``target``, SIGKILL it and all its jobs as soon as ``ready()`` holds."""
    proc = subprocess.Popen(
        command(workdir, config, target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before the point it was to be killed at"
        assert time.monotonic() < deadline, "timed out waiting for the point to kill at"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def longer_training(config):
    """Enough data and epochs that an epoch takes a few seconds and the kill lands inside one."""
    ds = config["datasets"]["sim_tf"]
    ds["simulation"]["per_class"] = {"train": 1500, "valid": 100, "test": 25}
    ds["training"].update(max_epochs=4, patience=4)
    config["figures"] = {}
    config["seeds"] = [0]  # one seed per job (several: tests/test_train.py)
    config.setdefault("execution", {})["checkpoint_every"] = 0  # a checkpoint after every epoch


@pytest.mark.slow
def test_killed_training_resumes_to_the_uninterrupted_model(tmp_path):
    config = write_config(tmp_path / "config.yaml", longer_training)
    target = f"{MODEL}/model.keras"
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = snakemake(whole, config, target)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # killed while training the second epoch or later, after the first checkpoint
    kill_when(killed, config, target, lambda: (killed / MODEL / "resume.npz").exists())
    assert not (killed / target).exists()
    # Snakemake's lock outlives a SIGKILL: it says so, and --unlock lifts it (docs/reliability.md)
    proc = snakemake(killed, config, target)
    assert proc.returncode != 0 and "--unlock" in proc.stderr
    assert snakemake(killed, config, "--unlock").returncode == 0
    proc = snakemake(killed, config, target)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (killed / "logs/train/sim_tf/sep/seed0.log").read_text()
    assert "sim_tf/sep seed 0: resuming after epoch" in log
    assert not (killed / MODEL / "resume.npz").exists()

    # the same dataset bytes, weights and history as the run that was never stopped
    for split in ("train", "valid"):
        assert (killed / f"results/datasets/sim_tf/{split}.h5").read_bytes() == (
            whole / f"results/datasets/sim_tf/{split}.h5"
        ).read_bytes()
    histories = [
        pd.read_csv(d / MODEL / "history.tsv", sep="\t").drop(columns="seconds")
        for d in (whole, killed)
    ]
    pd.testing.assert_frame_equal(*histories)
    assert len(histories[0]) == 4
    for a, b in zip(*(load_model(d / target).get_weights() for d in (whole, killed)), strict=False):
        np.testing.assert_array_equal(a, b)


def _duplicate_variant(config_text):
    return config_text.replace(
        "      sep: {head: sep, units: 16}\n",
        "      sep: {head: sep, units: 16}\n      sep: {head: sep, units: 32}\n",
    )


@pytest.mark.parametrize(
    "edit,message",
    [
        (
            lambda c: c["datasets"]["sim_tf"]["training"].update(epochs=3),
            "Additional properties are not allowed ('epochs' was unexpected)",
        ),
        (
            lambda c: c["datasets"]["sim_tf"]["training"].update(batch_size="50"),
            "'50' is not of type 'integer'",
        ),
        (
            lambda c: c["datasets"]["sim_tf"]["variants"].update(
                {"sep; rm -rf ~": {"head": "sep"}}
            ),
            "sep; rm -rf ~",
        ),
        (
            lambda c: c["datasets"]["sim_tf"]["simulation"].update(
                motif_file={"url": "gs://bucket/motifs.txt"}
            ),
            "gs://bucket/motifs.txt",
        ),
        (
            lambda c: c["datasets"]["sim_tf"]["variants"].update(SEP={"head": "sep"}),
            "sep and SEP differ only in case",
        ),
        ("duplicate", "'sep' is given twice in one mapping"),
    ],
)
def test_bad_configuration_stops_before_any_job(tmp_path, edit, message):
    if edit == "duplicate":
        config = tmp_path / "config.yaml"
        config.write_text(_duplicate_variant(TINY.read_text()))
    else:
        config = write_config(tmp_path / "config.yaml", edit)
    proc = snakemake(tmp_path / "work", config, "--dry-run")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert message in out, out[-3000:]
    assert not (tmp_path / "work" / "results").exists()


def test_no_config_value_reaches_a_shell():
    # Every rule runs a Python script (Snakemake passes config values as objects); nothing in the
    # package or the scripts starts a shell. BEDTools runs through pybedtools, with argument lists.
    rules = "\n".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    rules += (ROOT / "Snakefile").read_text()
    assert "shell:" not in rules and "run:" not in rules
    assert rules.count("script:") >= 20
    code = [p for d in ("src/sfcrepro", "workflow/scripts") for p in (ROOT / d).glob("*.py")]
    for path in code:
        text = path.read_text()
        for unsafe in ("shell=True", "os.system(", "os.popen(", "subprocess"):
            assert unsafe not in text, f"{path} uses {unsafe}"


# -- genome-derived data from local files ------------------------------------------------------
# The fixture genome and peak files of tests/genome_fixture.py as local paths (a user's own
# files); only simulated accessibility and simulated TF binding enabled.

# Killing Snakemake from inside the build job, right after the first split file is complete: a
# sitecustomize on PYTHONPATH wraps the dataset writer in every Python process of the run.
KILL_AFTER_FIRST_SPLIT = """
import os, signal
if os.environ.get("KILL_AFTER_FIRST_SPLIT"):
    import sfcrepro.data.datasets as datasets
    close = datasets.DatasetWriter.__exit__
    def exit_then_kill(self, *args):
        close(self, *args)
        os.killpg(os.getpgid(0), signal.SIGKILL)  # Snakemake and all its jobs, like scancel
    datasets.DatasetWriter.__exit__ = exit_then_kill
"""


@pytest.fixture(scope="module")
def local_genome(tmp_path_factory):
    from genome_fixture import make

    folder = tmp_path_factory.mktemp("local_files")
    files = make(folder)
    config = yaml.safe_load(GENOME_OVERLAY.read_text().replace("BASE", str(folder)))
    for name in ("invivo_tf", "invivo_access"):
        config["datasets"][name]["enabled"] = False
    config["figures"] = {}
    path = folder / "overlay.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return folder, files, path


def genome_snakemake(workdir, overlay, *args, env=None):
    return run_snakemake(workdir, [TINY, overlay], "--cores", "2", *args, env=env)


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """Rule -> job count from the job-stats table of a dry run."""
    table = dry_run_output.split("Job stats:")[-1]
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"
    }


@pytest.fixture(scope="module")
def built(local_genome, tmp_path_factory):
    """A complete build of both datasets, never interrupted."""
    _, _, overlay = local_genome
    workdir = tmp_path_factory.mktemp("built")
    proc = genome_snakemake(workdir, overlay, *SIM_ACCESS, *SIM_TF)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir


@pytest.mark.slow
def test_killed_dataset_build_leaves_nothing_taken_as_complete(local_genome, built, tmp_path):
    _, _, overlay = local_genome
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(KILL_AFTER_FIRST_SPLIT)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT / "src")]),
        "KILL_AFTER_FIRST_SPLIT": "1",
    }
    work = tmp_path / "work"
    proc = subprocess.Popen(
        snakemake_command(work, [TINY, overlay], "--cores", "1", *SIM_ACCESS),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert proc.wait(timeout=HANG_GUARD) == -signal.SIGKILL
    present = [f for f in SIM_ACCESS if (work / f).exists()]
    assert len(present) < 3  # killed mid-build: at most some splits were renamed into place

    assert genome_snakemake(work, overlay, "--unlock").returncode == 0
    proc = genome_snakemake(work, overlay, "--dry-run", *SIM_ACCESS)
    assert planned_jobs(proc.stdout).get("build_sim_access") == 1, proc.stdout[-3000:]
    proc = genome_snakemake(work, overlay, *SIM_ACCESS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for f in SIM_ACCESS:
        assert (work / f).read_bytes() == (built / f).read_bytes(), f
    leftovers = [
        p.name for p in (work / "results/datasets/sim_access").iterdir() if ".tmp-" in p.name
    ]
    assert leftovers == []


@pytest.mark.slow
def test_changing_one_peak_file_reruns_only_what_depends_on_it(local_genome, built):
    folder, files, overlay = local_genome
    assert (
        "Nothing to be done"
        in genome_snakemake(built, overlay, "--dry-run", *SIM_ACCESS, *SIM_TF).stdout
    )
    peaks = folder / files["E123"]
    lines = gzip.decompress(peaks.read_bytes()).decode().splitlines(keepends=True)
    peaks.write_bytes(gzip.compress("".join(lines[1:]).encode(), mtime=0))  # one peak fewer
    proc = genome_snakemake(built, overlay, "--dry-run", *SIM_ACCESS, *SIM_TF)
    jobs = planned_jobs(proc.stdout)
    # its copy, the windows labelled from it, the summits in those windows and the dataset; not
    # the other files' copies, the genome, nor simulated TF binding
    assert jobs == {"download": 1, "label_windows": 1, "tf_summits": 1, "build_sim_access": 1}, (
        proc.stdout[-3000:]
    )
    assert f"output: resources/downloads/{files['E123']}" in proc.stdout
    assert f"output: resources/downloads/{files['E116']}" not in proc.stdout
