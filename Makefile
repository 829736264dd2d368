# The two commands: `make run` starts the whole platform, `make test` passes the tests.
# Both create .venv and install the project into it on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test protos check lint typecheck unit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/paycore dev

test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check server clients/paycore/client tests scripts
	$(BIN)/ruff format --check server clients/paycore/client tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Regenerates clients/paycore/v1 from protos/; tests/test_generated_code.py fails when it is stale.
protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

clean:
	rm -rf $(VENV) .paycore .pytest_cache .mypy_cache .ruff_cache
