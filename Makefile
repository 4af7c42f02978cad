# The two quick-start commands (`make dev`, `make test`) and what they build on.
# Everything installs into ./.venv from PyPI (and tests/js/node_modules from npm); nothing global.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 2024

.PHONY: setup dev test lint typecheck pytest bench clean

$(BIN)/graphdock: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

setup: $(BIN)/graphdock  ## create .venv with graphdock and the test tools

dev: setup  ## serve the bundled example project (examples/agent) on http://127.0.0.1:$(PORT)
	cd examples/agent && ../../$(BIN)/graphdock dev --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

# Everything on SQLite, then the storage contract and every HTTP-level suite again on the real
# PostgreSQL at 127.0.0.1:5432 (GRAPHDOCK_TEST_POSTGRES_URL to point elsewhere; under CI=true an
# unreachable server fails the run instead of skipping).
PG_SUITES := tests/api tests/runs tests/test_guide.py tests/cli/test_transfer.py tests/test_js_sdk.py

pytest: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	GRAPHDOCK_TEST_BACKEND=postgres $(BIN)/python -m pytest $(PG_SUITES) $(PYTEST_ARGS)

test: lint typecheck pytest  ## what CI runs: lint, strict types, the whole test suite

bench: setup  ## graphdock vs the official `langgraph dev`, same load, one run (see bench/README.md)
	$(BIN)/python bench/assistants.py $(BENCH_ARGS)
	$(BIN)/python bench/runs.py $(BENCH_RUNS_ARGS)

clean:
	rm -rf $(VENV) tests/js/node_modules .pytest_cache .mypy_cache .ruff_cache
