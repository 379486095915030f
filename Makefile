# One entry point for set-up and the common tasks. `make demo` and `make test` each set up
# everything they need on a fresh machine (Python 3.10+ with venv).
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: demo test install-dev style bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $@

install-dev: $(BIN)/.installed

## Load the bundled sample customers into customers.duckdb and show what was loaded.
demo: install-dev
	$(BIN)/recipec run recipes/customers.yaml --var db_path=customers.duckdb --state-dir .state --preview 10

## The whole test suite.
test: install-dev
	$(BIN)/python -m pytest

style: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy recipec compiler runtime

bench: install-dev
	$(BIN)/python bench/bench_load.py

clean:
	rm -rf $(VENV) .state customers.duckdb .pytest_cache .ruff_cache .mypy_cache
