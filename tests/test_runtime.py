"""Job set-up: backend selection, device listing, and failing fast when a GPU is required."""

import os
import sys

import pytest

from sfcrepro import runtime


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
