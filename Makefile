# Every target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint schema bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

serve: $(VENV)/.installed
	$(BIN)/crm-gateway serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check app schema projections tests bench
	$(BIN)/ruff format --check app schema projections tests bench
	$(BIN)/mypy

# Benchmarks print ratios against baselines measured in the same run (machines are noisy).
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# Rewrites schema.graphql from the code; tests/test_schema_drift.py fails until you do.
schema: $(VENV)/.installed
	$(BIN)/python -m schema.export > schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
