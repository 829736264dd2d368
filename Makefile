# The two commands: `make run` starts the whole platform, `make test` passes the tests.
# Both create .venv and install the project into it on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Node clients the tests run (stripe-node, @grpc/grpc-js): npm ci from the lock file, kept
# until the lock changes; skipped on a machine without npm (those tests then skip too).
NODE_DIR := tests/clients/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: run test protos check lint typecheck unit clean node

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/paycore dev

test: $(STAMP) node lint typecheck unit

node: $(NODE_STAMP)

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(NODE_DIR) && npm ci --prefer-offline --no-audit --no-fund && touch node_modules/.installed; \
	else echo "npm not found: the Node client tests will skip"; fi

lint: $(STAMP)
	$(BIN)/ruff check server clients/paycore/client tests scripts
	$(BIN)/ruff format --check server clients/paycore/client tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# Two pytest processes (pytest-xdist), a file's tests in one of them (module fixtures are made
# once): each process makes its own databases and Redis prefix (tests/conftest.py), and one
# process kept one core busy while the other idled. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Regenerates clients/paycore/v1 from protos/; tests/test_generated_code.py fails when it is stale.
protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

clean:
	rm -rf $(VENV) .paycore .pytest_cache .mypy_cache .ruff_cache $(NODE_DIR)/node_modules
