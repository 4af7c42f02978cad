# The two quick-start commands (`make dev`, `make test`) and what they build on.
# Everything installs into ./.venv from PyPI (and tests/js/node_modules from npm); nothing global.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 2024

CHROMIUM ?= /usr/bin/chromium

.PHONY: setup dev test lint typecheck pytest bench bench-report soak crash clean ui browser fuzz agent-chat-ui

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
PG_SUITES += tests/fuzz tests/store

pytest: setup browser
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)
	GRAPHDOCK_TEST_BACKEND=postgres $(BIN)/python -m pytest --durations=15 $(PG_SUITES) $(PYTEST_ARGS)

test: lint typecheck pytest agent-chat-ui  ## what CI runs: lint, strict types, the whole test suite, agent-chat-ui

# The web UI (ui/, Vite + React) is built into the package, and the build is committed, so users
# never need node; tests/ui/test_build.py fails when the committed build differs from the sources.
ui:  ## rebuild the web UI into src/graphdock/ui/static (needs Node.js >= 20 and npm)
	cd ui && npm ci --no-audit --no-fund && npm run build

# The UI's browser tests drive Debian's Chromium (Playwright's own download is not used). Installed
# only when missing, and only where apt-get exists; elsewhere those tests skip (under CI they fail).
browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "note: could not install chromium; the browser tests will skip (and fail under CI=true)"

# The fuzz test (tests/fuzz) longer than in `make test`: every phase (coverage included) with fresh
# data until FUZZ_SECONDS have passed; FUZZ_SEED repeats a run, FUZZ_ARGS go to `st run` as they are.
# GRAPHDOCK_TEST_BACKEND=postgres fuzzes a PostgreSQL + Redis server. Reports: test-artifacts/fuzz/.
FUZZ_EXAMPLES ?= 100
FUZZ_SECONDS  ?= 300
FUZZ_SEED     ?=
FUZZ_ARGS     ?=
fuzz: setup  ## fuzz every route from the OpenAPI document for FUZZ_SECONDS (default 300)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) FUZZ_ARGS="$(FUZZ_ARGS)" \
		$(BIN)/python -m pytest tests/fuzz $(PYTEST_ARGS)

# LangChain's agent-chat-ui (the `vite` template of the create-agent-chat-app npm package, a
# production build) served from its own origin and driven in Chromium against graphdock: send →
# streamed answer → history → reload → interrupt → approve. Built once into .agent-chat-ui/ (about
# a minute of npm install and build on the 2-core machine with npm's cache warm, several minutes
# cold); each drive takes seconds. Part of `make test`, after the suites.
# Screenshots: test-artifacts/agent-chat-ui/.
AGENT_CHAT_UI_VERSION ?= 0.1.6
AGENT_CHAT_UI := .agent-chat-ui
$(AGENT_CHAT_UI)/dist/index.html:
	rm -rf $(AGENT_CHAT_UI) && mkdir -p $(AGENT_CHAT_UI)
	cd $(AGENT_CHAT_UI) && npm pack --silent create-agent-chat-app@$(AGENT_CHAT_UI_VERSION) \
		&& tar xzf create-agent-chat-app-$(AGENT_CHAT_UI_VERSION).tgz && cp -r package/templates/vite app
	cd $(AGENT_CHAT_UI)/app && npm install --no-audit --no-fund --ignore-scripts \
		&& ./node_modules/.bin/vite build --outDir ../dist

agent-chat-ui: setup browser $(AGENT_CHAT_UI)/dist/index.html  ## drive agent-chat-ui in Chromium against graphdock
	GRAPHDOCK_AGENT_CHAT_UI=$(CURDIR)/$(AGENT_CHAT_UI)/dist $(BIN)/python -m pytest tests/agent_chat_ui/drive.py -v -s $(PYTEST_ARGS)

bench: setup  ## graphdock vs the official `langgraph dev`, same load, one run (see bench/README.md)
	$(BIN)/python bench/assistants.py $(BENCH_ARGS)
	$(BIN)/python bench/runs.py $(BENCH_RUNS_ARGS)

# One table: graphdock (SQLite, PostgreSQL when reachable), the official server and a bare ASGI ceiling.
bench-report: setup  ## the benchmark report (~10 min; BENCH_REPORT_ARGS=--quick for a couple of minutes)
	$(BIN)/python bench/report.py $(BENCH_REPORT_ARGS)

# Minutes of mixed assistants and runs load on one server: errors, memory over time, p99 per operation.
soak: setup  ## mixed load for 5 minutes (SOAK_ARGS="--backend postgres --seconds 60"; see bench/README.md)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# SIGKILL the server under eight writing clients, restart it, compare with a model (tests/durability,
# also part of `make test`): alone, printing each schedule's seed, CRASH_RUNS times with new seeds;
# GRAPHDOCK_CRASH_SEED=<seed> replays one. Both backends (PostgreSQL at 127.0.0.1:5432).
CRASH_RUNS ?= 1
crash: setup  ## the crash durability test alone, on SQLite and PostgreSQL (CRASH_RUNS=10 for ten schedules)
	for run in $$(seq $(CRASH_RUNS)); do $(BIN)/python -m pytest tests/durability -v -s $(PYTEST_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) tests/js/node_modules ui/node_modules $(AGENT_CHAT_UI) test-artifacts .pytest_cache .mypy_cache .ruff_cache
