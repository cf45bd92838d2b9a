"""Reliability of the workflow as a whole: killed jobs, reruns, determinism and start-up checks.

Each test runs the real Snakemake workflow on a tiny configuration (derived from
``.test/config/config.yaml``). The per-module cases (bad peak lines, downloads, motif names, ...)
are tested next to their modules; README "Reliability" lists every case and its test.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sfcrepro.models import load_model

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / ".test" / "config" / "config.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
MODEL = "results/models/sim_tf/sep/seed0"


def write_config(path, edit=None):
    """The tiny config, edited by ``edit(config)``, written to ``path``."""
    config = yaml.safe_load(TINY.read_text())
    if edit:
        edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def command(workdir, config, *args):
    return [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(config), "--cores", "2", *args]


def snakemake(workdir, config, *args, timeout=600):
    return subprocess.run(command(workdir, config, *args), capture_output=True, text=True, timeout=timeout)


def kill_when(workdir, config, target, ready, timeout=300):
    """Start Snakemake for ``target``, SIGKILL it and all its jobs as soon as ``ready()`` holds."""
    proc = subprocess.Popen(command(workdir, config, target), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
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
    # Snakemake's lock outlives a SIGKILL: it says so, and --unlock lifts it (README, Reliability)
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
        assert (killed / f"results/datasets/sim_tf/{split}.h5").read_bytes() == \
            (whole / f"results/datasets/sim_tf/{split}.h5").read_bytes()
    histories = [pd.read_csv(d / MODEL / "history.tsv", sep="\t").drop(columns="seconds") for d in (whole, killed)]
    pd.testing.assert_frame_equal(*histories)
    assert len(histories[0]) == 4
    for a, b in zip(*(load_model(d / target).get_weights() for d in (whole, killed))):
        np.testing.assert_array_equal(a, b)
