"""The layer and a small model under the non-default Keras backends, each in its own process."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("backend_check.py")


@pytest.mark.slow
@pytest.mark.parametrize("backend,module", [("torch", "torch"), ("jax", "jax")])
def test_layer_and_model_train_under_backend(backend, module):
    if importlib.util.find_spec(module) is None:
        if backend == "torch":
            pytest.fail("torch is not installed: `make test` installs torch==2.13.0 (CPU build)")
        pytest.skip(f"{module} is not installed (optional: pip install '.[{backend}]')")
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"backend {backend}: ok" in proc.stdout
