"""Job set-up: backend selection, device listing, and failing fast when a GPU is required."""

import json
import os
import re
import subprocess
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
    for var in runtime.JAX_MEMORY_OPTIONS:
        monkeypatch.delenv(var, raising=False)
    assert runtime.share_gpu("jax") == {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    # the user's own choice stays: any of JAX's memory options, current and deprecated names
    for var, value in [
        ("XLA_CLIENT_MEM_FRACTION", ".2"),
        ("XLA_PYTHON_CLIENT_MEM_FRACTION", ".2"),
        ("XLA_PYTHON_CLIENT_ALLOCATOR", "platform"),
    ]:
        monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE")
        monkeypatch.setenv(var, value)
        assert runtime.share_gpu("jax") == {}, var
        assert "XLA_PYTHON_CLIENT_PREALLOCATE" not in os.environ
        monkeypatch.delenv(var)
        monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")
    runtime.share_gpu("jax")
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
    assert runtime.share_gpu("torch") == {}


def test_share_gpu_knows_the_memory_options_jax_reads():
    # The names jaxlib reads (xla_client.generate_pjrt_gpu_plugin_options): a renamed option would
    # otherwise be overridden without notice.
    import inspect

    from jaxlib import xla_client

    source = inspect.getsource(xla_client.generate_pjrt_gpu_plugin_options)
    read = set(re.findall(r"os\.getenv\(\s*'(\w+)'", source))
    assert set(runtime.JAX_MEMORY_OPTIONS) <= read, read
    memory = {v for v in read if "MEM_FRACTION" in v or "PREALLOCATE" in v or "ALLOCATOR" in v}
    assert memory <= set(runtime.JAX_MEMORY_OPTIONS), memory


def test_configure_jax_sets_the_sharing_option_before_jax_starts():
    # In a fresh process, as a pipeline job: configure() sets it, then JAX starts with it.
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in runtime.JAX_MEMORY_OPTIONS}
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


# -- determinism and float32 matmul precision: one policy for every backend ---------------------


def test_policy_on_a_cpu_keeps_what_jobs_always_did():
    tf = runtime.device_policy("tensorflow", gpu=False)
    assert tf["deterministic"] and tf["tf_op_determinism"] and tf["tf_tensor_float_32"] is None
    assert tf["device"] == "cpu" and tf["float32_matmul"] == "n/a"
    torch = runtime.device_policy("torch", gpu=False)
    assert torch["torch_deterministic"] and torch["environment"] == {}
    assert torch["torch_float32_matmul_precision"] is None
    assert torch["torch_cudnn_allow_tf32"] is None
    jax = runtime.device_policy("jax", gpu=False)
    assert jax["xla_flags"] == [] and jax["jax_default_matmul_precision"] is None
    # highest changes nothing on a CPU (no TF32 there)
    assert runtime.device_policy("torch", False, "auto", "highest") == torch
    off = runtime.device_policy("tensorflow", False, deterministic=False)
    assert not off["deterministic"] and not off["tf_op_determinism"]


def test_policy_on_a_gpu_defaults_to_fast_kernels_with_tf32():
    tf = runtime.device_policy("tensorflow", gpu=True)
    assert not tf["deterministic"] and not tf["tf_op_determinism"]
    assert tf["tf_tensor_float_32"] is True and tf["float32_matmul"] == "high"
    torch = runtime.device_policy("torch", gpu=True)
    assert not torch["torch_deterministic"] and torch["environment"] == {}
    assert torch["torch_float32_matmul_precision"] == "high" and torch["torch_cudnn_allow_tf32"]
    jax = runtime.device_policy("jax", gpu=True)
    assert jax["xla_flags"] == [] and jax["jax_default_matmul_precision"] == "tensorfloat32"


def test_policy_on_a_gpu_deterministic_and_full_float32():
    tf = runtime.device_policy("tensorflow", True, True, "highest")
    assert tf["tf_op_determinism"] and tf["tf_tensor_float_32"] is False
    torch = runtime.device_policy("torch", True, True, "highest")
    assert torch["torch_deterministic"]
    assert torch["environment"] == {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    assert torch["torch_float32_matmul_precision"] == "highest"
    assert torch["torch_cudnn_allow_tf32"] is False
    jax = runtime.device_policy("jax", True, True, "highest")
    assert jax["xla_flags"] == ["--xla_gpu_deterministic_ops=true"]
    assert jax["jax_default_matmul_precision"] == "float32"


def test_policy_values_are_checked():
    with pytest.raises(ValueError, match="deterministic must be auto, true or false"):
        runtime.device_policy("jax", True, "yes")
    with pytest.raises(ValueError, match="deterministic must be"):
        runtime.device_policy("jax", True, 1)
    with pytest.raises(ValueError, match="float32_matmul must be high or highest"):
        runtime.device_policy("jax", True, "auto", "medium")
    with pytest.raises(ValueError, match="float32_matmul must be"):
        runtime.configure("tensorflow", float32_matmul="tf32")


def test_xla_flags_are_added_once_and_the_users_kept(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    policy = runtime.device_policy("jax", True, True)
    runtime._set_environment(policy)
    runtime._set_environment(policy)
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true"
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_deterministic_ops=false")
    runtime._set_environment(policy)
    assert os.environ["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=false"


def fresh_process(code, *args, env=None):
    """Run ``code`` in a new Python process (a job's start-up); its stdout."""
    env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("deterministic", ["auto", False])
def test_configure_on_a_cpu_sets_what_it_always_set_for_tensorflow(deterministic):
    code = (
        "import sys, json\n"
        "from sfcrepro.pipeline.runtime import configure\n"
        f"configure('tensorflow', deterministic={deterministic!r})\n"
        "import tensorflow as tf\n"
        "from tensorflow.python.framework import config\n"  # not public in TensorFlow 2.21
        "print(json.dumps([config.is_op_determinism_enabled(),\n"
        "    tf.config.experimental.tensor_float_32_execution_enabled()]))\n"
    )
    op_determinism, tf32 = json.loads(fresh_process(code).splitlines()[-1])
    assert op_determinism is (deterministic == "auto")
    assert tf32 is True  # TensorFlow's own default, untouched on a CPU


@pytest.mark.slow
def test_configure_on_a_cpu_sets_what_it_always_set_for_torch():
    pytest.importorskip("torch")
    code = (
        "import json\n"
        "from sfcrepro.pipeline.runtime import configure\n"
        "configure('torch')\n"
        "import torch, os\n"
        "print(json.dumps([torch.are_deterministic_algorithms_enabled(),\n"
        "    torch.get_float32_matmul_precision(), 'CUBLAS_WORKSPACE_CONFIG' in os.environ]))\n"
    )
    env = {"CUDA_VISIBLE_DEVICES": ""}
    assert json.loads(fresh_process(code, env=env).splitlines()[-1]) == [True, "highest", False]


@pytest.mark.slow
def test_jax_jobs_share_compiled_programs_through_the_persistent_cache(tmp_path):
    # Two fresh processes, as two jobs of a run: the first compiles and writes the cache, the
    # second reads the program from it (JAX's monitoring events).
    code = (
        "import json, sys\n"
        "from sfcrepro.pipeline.runtime import configure\n"
        "configure('jax', compilation_cache=sys.argv[1])\n"
        "import jax, jax.numpy as jnp\n"
        "from jax import monitoring\n"
        "events = []\n"
        "monitoring.register_event_listener(lambda name, **kw: events.append(name))\n"
        "jax.jit(lambda x: jnp.sin(x) * 2 + 1)(jnp.arange(8.0)).block_until_ready()\n"
        "print(json.dumps(events))\n"
    )
    cache = tmp_path / "jax-cache"
    first = json.loads(fresh_process(code, cache).splitlines()[-1])
    second = json.loads(fresh_process(code, cache).splitlines()[-1])
    assert "/jax/compilation_cache/cache_misses" in first
    assert "/jax/compilation_cache/cache_hits" not in first
    assert "/jax/compilation_cache/cache_hits" in second
    assert any(cache.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize(
    "deterministic,matmul,expected",
    [
        ("auto", "high", [False, "high", True, None]),
        (True, "highest", [True, "highest", False, ":4096:8"]),
    ],
)
def test_configure_applies_the_gpu_policy_to_torch(deterministic, matmul, expected):
    # A pretend GPU (torch.cuda.is_available patched): what configure sets on a GPU machine.
    pytest.importorskip("torch")
    code = (
        "import json, os, torch\n"
        "torch.cuda.is_available = lambda: True\n"
        "from sfcrepro.pipeline.runtime import configure\n"
        f"configure('torch', deterministic={deterministic!r}, float32_matmul={matmul!r})\n"
        "print(json.dumps([torch.are_deterministic_algorithms_enabled(),\n"
        "    torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32,\n"
        "    os.environ.get('CUBLAS_WORKSPACE_CONFIG')]))\n"
    )
    env = {"CUDA_VISIBLE_DEVICES": ""}
    assert json.loads(fresh_process(code, env=env).splitlines()[-1]) == expected


@pytest.mark.slow
def test_configure_applies_the_gpu_policy_to_jax():
    # A pretend GPU: CUDA_VISIBLE_DEVICES names one (XLA's flag is set before JAX starts) and
    # jax.default_backend is patched (the matmul precision).
    code = (
        "import json, os, jax\n"
        "jax.default_backend = lambda: 'gpu'\n"
        "from sfcrepro.pipeline.runtime import configure\n"
        "configure('jax', deterministic=True, float32_matmul='high')\n"
        "print(json.dumps([os.environ['XLA_FLAGS'], jax.config.jax_default_matmul_precision]))\n"
    )
    env = {"CUDA_VISIBLE_DEVICES": "0", "XLA_FLAGS": "", "JAX_PLATFORMS": "cpu"}
    flags, precision = json.loads(fresh_process(code, env=env).splitlines()[-1])
    assert flags.split() == ["--xla_gpu_deterministic_ops=true"]
    assert precision == "tensorfloat32"
