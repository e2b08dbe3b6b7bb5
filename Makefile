# Two commands do all set-up on a fresh machine with only Python 3.10+:
#   make lab    -> virtual environment in .venv, then JupyterLab on lesson 00
#   make test   -> virtual environment in .venv, then every test (engine, notebooks, browser)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test test-fast test-notebooks test-browser test-binder bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/00_start_here.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests --ignore=tests/browser
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --nbval-lax --nbval-current-env -p no:cacheprovider notebooks
	$(BIN)/python -m pytest -q -m browser tests/browser

# What Binder would build: a fresh environment from binder/requirements.txt alone (plus the
# notebook server pieces Binder's base image has), then every lesson under nbval.
BINDER_VENV := .binder-venv
test-binder:
	rm -rf $(BINDER_VENV)
	$(PYTHON) -m venv $(BINDER_VENV)
	$(BINDER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BINDER_VENV)/bin/python -m pip install --quiet -r binder/requirements.txt ipykernel nbval pytest pytest-xdist
	$(BINDER_VENV)/bin/python -m pytest -q -n 2 --dist loadscope --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests --ignore=tests/browser

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(BINDER_VENV) test-artifacts .pytest_cache
