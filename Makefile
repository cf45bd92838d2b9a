# sfcrepro: set-up, reproduction and tests.
#
#   make reproduce   set up, then run the main job (the offline default of config/config.yaml)
#   make test        set up, then the whole test suite
#
# Set-up is idempotent: the virtual environment is made once and reinstalled only when
# pyproject.toml or constraints.txt change; BEDTools comes from apt only when it is not on PATH,
# and so do SLURM and munge for `make test` (tests/test_slurm.py starts a one-node cluster).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      ?= .venv
BIN       := $(VENV)/bin
CORES     ?= all
# The paper's configuration, with the datasets that need downloads switched off (offline default).
# CONFIG=config/config.yaml runs everything (needs internet for the public data).
CONFIG    ?= config/config.yaml config/offline.yaml
SNAKEMAKE_ARGS ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= auto
TEST_WORKERS_MAX ?= 4
# Run apt-get through sudo when not root.
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pip byte-compiles the environment at install time (about 40 s here): with --no-compile, where
# PYTHONDONTWRITEBYTECODE is set (as on the development machine), every job recompiled the
# modules it imports (`make test` 21 min 25 s instead of 12 min 44 s, measured).
PIP       := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The pinned PyTorch (its CPU wheel), as constraints.txt gives it.
TORCH      = torch==$(shell sed -n 's/^torch==//p' constraints.txt)

.PHONY: help setup setup-test bedtools slurm reproduce dry-run test lint lock

help:
	@echo "make reproduce   set up, then run the pipeline on $(CONFIG) (CORES=$(CORES))"
	@echo "make test        set up, then run all tests"
	@echo "make dry-run     list the jobs the pipeline would run"
	@echo "make lint        ruff check, ruff format --check, snakemake --lint and snakefmt --check"

$(BIN)/python:
	@py=$$(command -v python3.11 || command -v python3) || { echo "Python 3.11 is needed: apt-get install python3" >&2; exit 1; }; \
	if ! $$py -m venv $(VENV); then \
	  echo "python venv module missing: installing python3-venv with apt-get" >&2; \
	  rm -rf $(VENV); $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; \
	  $$py -m venv $(VENV); \
	fi

# The package with the pipeline's pinned dependencies and motif discovery (the pipeline runs it).
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -c constraints.txt -e ".[pipeline,discovery]"
	@touch $@

# Test tools and the CPU build of PyTorch (the torch backend is tested too). torch is installed
# first and by exact version so pip takes the CPU wheel and not the CUDA build. The wheelhouse
# holds the library's own dependencies (Keras, numpy and theirs, pinned) and PyTorch (a backend):
# tests/test_packaging.py installs the built wheel from it into an empty virtual environment,
# without the internet.
$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -c constraints.txt "$(TORCH)"
	$(PIP) -c constraints.txt -e ".[pipeline,test,torch,cluster,discovery]"
	rm -rf $(VENV)/wheelhouse
	$(BIN)/python -m pip download --quiet --disable-pip-version-check -c constraints.txt \
	  --dest $(VENV)/wheelhouse keras numpy "$(TORCH)"
	@touch $@

bedtools:
	@command -v bedtools >/dev/null || { \
	  echo "BEDTools not on PATH: installing it with apt-get" >&2; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y bedtools; }

# SLURM's daemons and client, and munge (its authentication), for tests/test_slurm.py. The test
# starts slurmd, which needs root: without root nothing is installed and the test is skipped.
slurm:
	@if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "SLURM not on PATH: installing slurm-wlm and munge with apt-get (for tests/test_slurm.py)" >&2; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; \
	  else \
	    echo "SLURM not installed and not root: tests/test_slurm.py will be skipped" >&2; \
	  fi; \
	fi

setup: $(VENV)/.installed bedtools

setup-test: $(VENV)/.installed-test bedtools slurm

reproduce: setup
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --configfile $(CONFIG) --report results/report.html

dry-run: setup
	$(BIN)/snakemake --dry-run --cores $(CORES) --configfile $(CONFIG) $(SNAKEMAKE_ARGS)

# Lint first: CI (.ci/run -> make test) enforces it. Tests run in parallel (pytest-xdist), one
# worker per CPU up to TEST_WORKERS_MAX; the tests of the shared tiny workflow stay on one worker
# (tests/conftest.py, TINY_RUN_FILES). TEST_WORKERS=0 runs them in this process, one by one.
test: lint
	$(BIN)/python -m pytest --numprocesses $(TEST_WORKERS) --maxprocesses $(TEST_WORKERS_MAX) $(PYTEST_ARGS)

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakefmt --check .

# Refresh constraints.txt from the current environment (after changing pyproject.toml).
lock: setup-test
	{ echo "# Exact versions the pipeline and its tests are run with (pip install -c constraints.txt)."; \
	  echo "# Regenerate with: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' | sed -E 's/^(torch==[^+]*)\+cpu$$/\1/'; \
	} > constraints.txt.tmp && mv constraints.txt.tmp constraints.txt
