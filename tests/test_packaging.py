"""The library installs light: the built wheel, in an empty virtual environment, from the
wheelhouse `make setup-test` downloads (no internet here). With torch and numpy alone (no Keras),
``sfcrepro.network.torch`` works; with the wheel's own dependencies (Keras and numpy) and a backend
(PyTorch), ``sfcrepro.network.layers`` and ``sfcrepro.network.models`` do; the pipeline's packages are absent."""

import os
import subprocess
import sys
import tomllib
import venv

import pytest
from conftest import ROOT

WHEELHOUSE = ROOT / ".venv" / "wheelhouse"

USE_THE_TORCH_MODULE = """
import importlib.util
import torch
from sfcrepro.network.torch import SeparableFC
assert importlib.util.find_spec("keras") is None
sfc = SeparableFC(length=10, channels=4, units=3, symmetric=True)
assert sfc(torch.zeros(2, 10, 4)).shape == (2, 3)
print("ok")
"""

USE_THE_KERAS_LAYER = """
import importlib.util, os, tempfile
import numpy as np
import keras
from sfcrepro.network.layers import CurvatureRegularizer, SeparableFC
from sfcrepro.network.models import build_model, sfc_units
assert keras.backend.backend() == "torch"
inputs = keras.Input((50, 4))
x = keras.layers.Conv1D(8, 5)(inputs)
x = SeparableFC(sfc_units(46, 8, 4, symmetric=True), symmetric=True,
                positional_regularizer=CurvatureRegularizer(1.0))(x)
model = keras.Model(inputs, keras.layers.Dense(1)(x))
assert model.predict(np.zeros((2, 50, 4), "float32"), verbose=0).shape == (2, 1)
path = os.path.join(tempfile.mkdtemp(), "m.keras")
model.save(path)
keras.saving.load_model(path)
assert build_model("simulated_tf", head="symm", length=200, tasks=3).output.shape[-1] == 3
present = [m for m in ("tensorflow", "pandas", "snakemake", "pybedtools", "h5py", "sklearn")
           if importlib.util.find_spec(m) is not None]
print("present:", present)
"""


def run(python, *args, env=None):
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=900, env=env
    )


def test_core_dependencies_are_keras_and_numpy():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(r.split(">")[0].split("=")[0].split("<")[0] for r in project["dependencies"])
    assert names == ["keras", "numpy"]
    assert "snakemake>=9,<10" in project["optional-dependencies"]["pipeline"]


@pytest.mark.slow
def test_wheel_in_an_empty_environment_gives_the_layers(tmp_path):
    if not any(WHEELHOUSE.glob("keras-*.whl")) or not any(WHEELHOUSE.glob("torch-*.whl")):
        pytest.skip(f"{WHEELHOUSE} lacks the Keras or torch wheel: run `make setup-test`")
    dist = tmp_path / "dist"
    build = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                "--wheel-dir", str(dist), str(ROOT))  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("sfcrepro-*.whl")
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
           "--find-links", str(WHEELHOUSE)]  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    # 1. PyTorch users: the wheel without its dependencies, torch and numpy; no Keras anywhere.
    installed = run(*pip, "--no-deps", str(wheel))
    assert installed.returncode == 0, installed.stderr[-3000:]
    installed = run(*pip, "torch", "numpy")
    assert installed.returncode == 0, installed.stderr[-3000:]
    used = run(python, "-c", USE_THE_TORCH_MODULE, env=environ)
    assert used.returncode == 0 and used.stdout.strip() == "ok", used.stderr[-3000:]
    # 2. Keras users: the wheel's own dependencies (Keras, numpy) added, PyTorch as the backend.
    installed = run(*pip, str(wheel))
    assert installed.returncode == 0, installed.stderr[-3000:]
    used = run(python, "-c", USE_THE_KERAS_LAYER, env={**environ, "KERAS_BACKEND": "torch"})
    assert used.returncode == 0, used.stderr[-3000:]
    assert used.stdout.strip().endswith("present: ['h5py']"), used.stdout  # h5py: Keras needs it
