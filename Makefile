# The two commands a new user needs (README "Quick start"):
#   make run    start a node on embedded SQLite in ./data (installs everything first)
#   make test   lint, type-check and run the whole test suite (installs everything first)
# Both create the virtual environment .venv from pyproject.toml on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest vectors vectors-check bench load clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet -e "clients/python[all]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/registry serve --data-dir ./data

test: lint typecheck vectors-check pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Branch coverage of the whole package is measured; the protocol core must be at 100%.
pytest: $(STAMP)
	$(BIN)/pytest --cov=registry --cov-branch --cov-report= $(PYTEST_ARGS)
	$(BIN)/coverage report --include='registry/core/*' --show-missing --skip-covered --fail-under=100

# Regenerate spec/vectors/*.json from fixed seeds; vectors-check fails if that changes anything.
vectors: $(STAMP)
	$(BIN)/python spec/vectors/generate.py

vectors-check: $(STAMP)
	$(BIN)/python spec/vectors/generate.py --check

# Benchmarks (not tests): one table, each figure beside its baseline (benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick --out benchmarks/results/latest.json

load: $(STAMP)
	$(BIN)/python benchmarks/load.py --duration 5

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
