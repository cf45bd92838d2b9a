"""Shared fixtures and helpers: a local HTTP server so that the real download code runs without
internet; the repository root, the tiny configuration and the Snakemake runner of the end-to-end
tests; Keras configured on first use (never at import)."""

import functools
import http.server
import importlib.util
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, plus test paths that misbehave like real servers do.

    ``/flaky/<file>``: 503 on the first request for each file, then the file.
    ``/truncated/<file>``: announces the full length but sends half and closes.
    ``/cut-once/<file>``: like ``/truncated/`` on the first request for each file, then the file.
    ``/html/<file>``: an HTML error page with status 200.
    """

    seen: set = set()

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/", 1)
        if len(parts) == 2 and parts[0] == "flaky":
            if self.path not in Handler.seen:
                Handler.seen.add(self.path)
                self.send_error(503, "try again")
                return
            self.path = "/" + parts[1]
        elif len(parts) == 2 and parts[0] == "cut-once" and self.path in Handler.seen:
            self.path = "/" + parts[1]
        elif len(parts) == 2 and parts[0] in ("truncated", "cut-once"):
            Handler.seen.add(self.path)
            data = (Path(self.directory) / parts[1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        elif len(parts) == 2 and parts[0] == "html":
            body = b"<!DOCTYPE html><html><body>Service unavailable</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """``(folder, base_url)``: files written to ``folder`` are served at ``base_url/<name>``."""
    folder = tmp_path_factory.mktemp("served")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# -- shared helpers: the repository, the tiny configuration and the Snakemake command -----------

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / ".test" / "config" / "config.yaml"
GENOME_OVERLAY = ROOT / ".test" / "config" / "genome.yaml"
# The 16 hematopoietic cell types of the paper (in config/config.yaml's order) and their samples
# in the real Corces matrix (tests/data/GSE74912_sample_columns.tsv).
PAPER_CELL_TYPES = [
    "HSC",
    "MPP",
    "LMPP",
    "CMP",
    "GMP",
    "MEP",
    "Mono",
    "CD4",
    "CD8",
    "NK",
    "B",
    "CLP",
    "Ery",
    "pHSC",
    "LSC",
    "Blast",
]
EXPECTED_SAMPLES = {
    "HSC": 7,
    "MPP": 6,
    "LMPP": 3,
    "CMP": 8,
    "GMP": 7,
    "MEP": 7,
    "Mono": 6,
    "CD4": 5,
    "CD8": 5,
    "NK": 6,
    "B": 4,
    "CLP": 5,
    "Ery": 8,
    "pHSC": 19,
    "LSC": 8,
    "Blast": 25,
}
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


# Training rules are made per group of seeds (workflow/rules/train.smk): train_seed0,
# train_seeds0to4, train_lr_seeds0_2, ... Their kind (train, train_lr, train_size) is the name
# profiles and the docs' job table use.
TRAINING_RULE = re.compile(r"^(train(?:_lr|_size)?)_seeds?\d[\dto_]*$")


def rule_kind(name):
    """A rule's kind: the kind of a training rule (see TRAINING_RULE), else the name itself."""
    match = TRAINING_RULE.match(name)
    return match.group(1) if match else name


def job_counts(stdout):
    """{rule kind: jobs} from the "Job stats" table of a Snakemake dry-run (``--quiet rules``)."""
    counts = {}
    for line in stdout[stdout.index("Job stats") :].splitlines()[3:]:
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit():
            break
        kind = rule_kind(fields[0])
        counts[kind] = counts.get(kind, 0) + int(fields[1])
    return counts


def snakemake_command(workdir, configs, *args):
    """The Snakemake command line for ``workdir`` with the config files ``configs`` (in order)."""
    configs = [configs] if isinstance(configs, str | Path) else configs
    return [*SNAKEMAKE, "--directory", str(workdir), "--configfile", *map(str, configs), *args]


# A hang guard, not a speed limit: the longest workflow run of the suite (the genome datasets,
# the SLURM run) took under 5 minutes on the development machine and 2-3x that on slower 2-core
# machines; CI itself stops at 90 minutes.
HANG_GUARD = 2400


def snakemake(workdir, configs, *args, timeout=HANG_GUARD, env=None):
    """Run Snakemake (see ``snakemake_command``); the finished process, output captured.
    ``timeout`` only guards against a hang (HANG_GUARD)."""
    return subprocess.run(
        snakemake_command(workdir, configs, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="session")
def root():
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def tiny_config():
    """The tiny configuration of the end-to-end tests (.test/config/config.yaml)."""
    return TINY


@pytest.fixture(scope="session")
def keras_runtime():
    """Keras configured for this process (backend, deterministic kernels, seed 0), at first use."""
    from sfcrepro.pipeline.runtime import configure

    return configure(seed=0)


# The test files that read the shared tiny workflow (tiny_run), and test_discovery.py ahead of them
# (it compiles modisco-lite's numba functions, which the workflow's discovery jobs then find
# cached). Under pytest-xdist (`make test`) one worker runs all of them, in this order, and so
# the workflow once; every other test file is one unit of work (its module fixtures, such as
# test_slurm.py's cluster, are made once), given to whichever worker is free.
TINY_RUN_FILES = (
    "tests/test_discovery.py",
    "tests/test_workflow.py",
    "tests/test_workflow_genome.py",
)


def pytest_collection_modifyitems(config, items):
    """The TINY_RUN_FILES first: under pytest-xdist the longest unit of work starts first."""
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in TINY_RUN_FILES)


if importlib.util.find_spec("xdist"):

    def pytest_xdist_make_scheduler(config, log):
        """pytest-xdist's scheduler by scope, with the scopes described at TINY_RUN_FILES, in
        collection order. (xdist's own `xdist_group` marks did not keep a group on one worker
        with pytest 9.2 and pytest-xdist 3.8.)"""
        from xdist.scheduler import LoadScopeScheduling

        config.option.loadscopereorder = False

        class TinyRunTogether(LoadScopeScheduling):
            def _split_scope(self, nodeid):
                path = nodeid.split("::")[0]
                return "tiny_run" if path in TINY_RUN_FILES else path

        return TinyRunTogether(config, log)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``(workdir, process)``: the whole tiny workflow, run once per session and shared by the
    tests that only read its outputs (tests/test_workflow.py, tests/test_workflow_genome.py).
    Under pytest-xdist (``make test``) a session is one worker's: those files go to one worker
    (TINY_RUN_FILES)."""
    workdir = tmp_path_factory.mktemp("tiny")
    proc = snakemake(workdir, TINY, "--cores", "2")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return workdir, proc
