"""The layer, a small model and input gradients under each Keras backend (each in its own process),
and the pipeline's training and importance jobs under torch, selected by KERAS_BACKEND."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TINY, snakemake

from sfcrepro.pipeline.config import resolve_backend

SCRIPT = Path(__file__).with_name("backend_check.py")


def test_config_backend_wins_over_keras_backend():
    assert resolve_backend({"backend": "jax"}, {"KERAS_BACKEND": "torch"}) == "jax"
    assert resolve_backend({"backend": None}, {"KERAS_BACKEND": "torch"}) == "torch"
    assert resolve_backend({}, {}) == "tensorflow"
    with pytest.raises(ValueError, match="KERAS_BACKEND is 'pytorch'"):
        resolve_backend({"backend": None}, {"KERAS_BACKEND": "pytorch"})


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend,module", [("tensorflow", "tensorflow"), ("torch", "torch"), ("jax", "jax")]
)
def test_layer_and_model_train_under_backend(backend, module):
    if importlib.util.find_spec(module) is None:
        pytest.fail(
            f"{module} is not installed: `make test` installs it (torch: the CPU build 2.13.0)"
        )
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"backend {backend}: ok" in proc.stdout


@pytest.mark.slow
def test_training_and_importance_jobs_run_under_torch(tmp_path):
    """KERAS_BACKEND=torch with `backend: null`: the real train, evaluate and importance rules."""
    config = yaml.safe_load(TINY.read_text())
    config["backend"] = None
    config["seeds"] = [0]
    path = tmp_path / "torch.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ["results/importance/sim_tf/symm.tsv", "results/check_gpu.txt"]
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = snakemake(tmp_path, path, "--cores", "2", *targets, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "backend: torch" in (tmp_path / "results" / "check_gpu.txt").read_text()
    log = (tmp_path / "logs" / "train" / "sim_tf" / "symm" / "seed0.log").read_text()
    assert "Keras backend torch" in log and "best epoch" in log
    table = pd.read_csv(tmp_path / "results" / "importance" / "sim_tf" / "symm.tsv", sep="\t")
    assert (
        len(table) == 200
        and table["importance_sum"].notna().all()
        and table["importance_sum"].abs().sum() > 0
    )


@pytest.mark.slow
def test_jax_backend_trains_two_seeds_together_with_mixed_bfloat16(tmp_path):
    """`backend: jax` through the workflow, as on a GPU: the two seeds of a variant stepped
    together in one program (JAX stacks them) in bfloat16, preallocation off, the model saved
    in float32."""
    config = yaml.safe_load(TINY.read_text())
    config["backend"] = "jax"
    config["execution"] = {"seeds_per_job": 2, "together": True}
    config["datasets"]["sim_tf"]["training"].update(max_epochs=2, precision="mixed_bfloat16")
    path = tmp_path / "jax.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/models/sim_tf/sep/seed{seed}/model.keras" for seed in (0, 1)]
    proc = snakemake(tmp_path, path, "--cores", "1", *targets)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    log = (tmp_path / "logs" / "train" / "sim_tf" / "sep" / "seeds0-1.log").read_text()
    assert "Keras backend jax" in log and "2 run(s) on cpu (jax backend): together" in log
    assert "'precision': 'mixed_bfloat16'" in log
    for seed in (0, 1):
        assert f"sim_tf/sep seed {seed}: best epoch" in log
    code = (
        "from sfcrepro.pipeline.runtime import configure; configure('jax')\n"
        "import os; from sfcrepro.network.models import load_model\n"
        f"m = load_model({str(tmp_path / targets[0])!r})\n"
        "print(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'], {l.dtype_policy.name for l in m.layers})"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLA_PYTHON_CLIENT")}
    check = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert check.stdout.split() == ["false", "{'float32'}"]
