"""The conda environments of the rules (envs/) agree with pyproject.toml and constraints.txt."""

import re
import tomllib

import pytest
import yaml
from conftest import ROOT

ENVS = ["cpu", "gpu"]
# The workflow runner is not a job dependency: jobs run inside the environment, Snakemake outside.
RUNNER = {"snakemake"}
# Backends beyond the pipeline's own dependencies, per environment: the GPU jobs can also run
# backend: jax (docs/running.md recommends it on GPUs).
BACKENDS = {"cpu": set(), "gpu": {"jax"}}


def _name(requirement):
    """Distribution name of a requirement, normalised (PEP 503), without extras and versions."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version
    return pins


def _pip_section(env):
    deps = yaml.safe_load((ROOT / "envs" / f"{env}.yaml").read_text())["dependencies"]
    (pip,) = [d["pip"] for d in deps if isinstance(d, dict)]
    return deps, pip


@pytest.mark.parametrize("env", ENVS)
def test_env_pins_the_constrained_versions_of_every_dependency(env):
    deps, pip = _pip_section(env)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # The pipeline's jobs need the library, the pipeline extra and motif discovery.
    extras = project["optional-dependencies"]
    needed = project["dependencies"] + extras["pipeline"] + extras["discovery"]
    wanted = ({_name(r) for r in needed} - RUNNER) | BACKENDS[env]
    pinned = {_name(r): r.split("==")[1] for r in pip}
    assert set(pinned) == wanted, f"envs/{env}.yaml and pyproject.toml list different packages"
    pins = _constraints()
    for name, version in pinned.items():
        assert pins[name] == version, (
            f"envs/{env}.yaml pins {name}=={version}, constraints.txt {pins[name]}"
        )
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11" and project["requires-python"] == ">=3.11"


def test_gpu_env_is_the_cpu_env_with_the_cuda_builds_of_tensorflow_and_jax():
    cpu, gpu = _pip_section("cpu")[1], _pip_section("gpu")[1]
    jax = f"jax[cuda12]=={_constraints()['jax']}"  # JAX 0.10.2's extra for CUDA 12 wheels
    cuda = []
    for r in cpu:  # tensorflow becomes its CUDA build, and JAX's CUDA build follows it
        cuda += [r.replace("tensorflow==", "tensorflow[and-cuda]==")]
        cuda += [jax] if r.startswith("tensorflow==") else []
    assert gpu == cuda


def test_rules_use_these_envs():
    rules = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    assert '"../../envs/cpu.yaml"' in rules and '"../../envs/gpu.yaml"' in rules
    envs_named = set(re.findall(r"envs/(\w+)\.yaml", rules))
    assert envs_named == set(ENVS), envs_named


def test_every_rule_that_loads_a_model_with_the_backend_uses_the_model_env():
    # A rule given the backend (params: backend=BACKEND) imports it: under --sdm conda its env
    # must carry every backend the GPU env offers (envs/gpu.yaml: TensorFlow and JAX), so that
    # `backend: jax` does not fail at evaluation after hours of training.
    rules = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    blocks = re.split(r"\n(?=\s*(?:rule|use rule)\b)", rules)
    with_backend = [b for b in blocks if "backend=BACKEND" in b]
    assert len(with_backend) >= 6, len(with_backend)
    wrong = [b.strip().splitlines()[0] for b in with_backend if "MODEL_ENV" not in b]
    assert wrong == []
