"""Job set-up: backend selection, device listing, and failing fast when a GPU is required."""

import os
import sys

import pytest

from sfcrepro.pipeline import runtime


def test_device_report_names_backend_and_devices():
    report = runtime.device_report("tensorflow")
    fields = dict(line.split(": ", 1) for line in report.splitlines())
    assert fields["backend"] == "tensorflow" and fields["require_gpu"] == "false"
    assert "CPU" in fields["devices"] and int(fields["gpus"]) == len(runtime.gpu_devices())


def test_require_gpu_without_a_gpu_fails_with_the_fix(monkeypatch):
    monkeypatch.setattr(runtime, "gpu_devices", lambda: [])
    with pytest.raises(
        RuntimeError, match="require_gpu is true but the tensorflow backend sees no GPU"
    ) as err:
        runtime.configure("tensorflow", require_gpu=True)
    assert "set require_gpu: false" in str(err.value) and "CPU" in str(err.value)


def test_require_gpu_with_a_gpu_passes(monkeypatch):
    monkeypatch.setattr(runtime, "gpu_devices", lambda: ["/physical_device:GPU:0"])
    assert runtime.configure("tensorflow", require_gpu=True) == "tensorflow"


def test_missing_backend_library_is_named_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # makes `import jax` fail
    with pytest.raises(RuntimeError, match="needs the jax package, which is not installed") as err:
        runtime._import_backend("jax")
    assert "pip install jax" in str(err.value)


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="Unknown Keras backend 'mxnet'"):
        runtime.configure("mxnet")


def test_export_package_path_prepends_once(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", "/other")
    runtime.export_package_path(tmp_path)
    runtime.export_package_path(tmp_path)
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), "/other"]
    monkeypatch.delenv("PYTHONPATH")
    runtime.export_package_path(tmp_path)
    assert os.environ["PYTHONPATH"] == str(tmp_path)


def test_jax_does_not_take_the_whole_gpu(monkeypatch):
    # JAX preallocates 75% of a GPU per process by default: a second job on the GPU then fails.
    for var in ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION"):
        monkeypatch.delenv(var, raising=False)
    assert runtime.share_gpu("jax") == {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    # the user's own choice stays
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE")
    monkeypatch.setenv("XLA_PYTHON_CLIENT_MEM_FRACTION", ".2")
    assert runtime.share_gpu("jax") == {}
    assert "XLA_PYTHON_CLIENT_PREALLOCATE" not in os.environ
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")
    runtime.share_gpu("jax")
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
    assert runtime.share_gpu("torch") == {}


def test_configure_jax_sets_the_sharing_option_before_jax_starts():
    # In a fresh process, as a pipeline job: configure() sets it, then JAX starts with it.
    import subprocess

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION")
    }
    code = (
        "import os\n"
        "from sfcrepro.pipeline.runtime import configure\n"
        "configure('jax')\n"
        "import jax\n"
        "print(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'], jax.default_backend())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[0] == "false"


def test_tensorflow_gets_memory_growth_on_every_gpu():
    class Config:  # stands in for tensorflow.config on a machine with two GPUs
        grown = []

        class experimental:  # noqa: N801 (tensorflow's name)
            @staticmethod
            def set_memory_growth(gpu, enable):
                Config.grown.append((gpu.name, enable))

        @staticmethod
        def list_physical_devices(kind):
            assert kind == "GPU"
            return [type("GPU", (), {"name": f"/physical_device:GPU:{i}"})() for i in (0, 1)]

    tensorflow = type("tf", (), {"config": Config})
    done = runtime.share_gpu("tensorflow", tensorflow)
    assert done == {"memory_growth": ["/physical_device:GPU:0", "/physical_device:GPU:1"]}
    assert Config.grown == [("/physical_device:GPU:0", True), ("/physical_device:GPU:1", True)]
