# Harken — `make help` lists the targets.
SHELL := /bin/bash
# uv from PATH, or else installed with pip into .tools/ (a fresh machine needs only Python).
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_LINK_MODE := copy

.PHONY: help setup browser run lint test test-fast bench screenshots clean

# pytest-xdist workers for the tests that run in parallel (`make test TEST_WORKERS=0` runs them in-process).
TEST_WORKERS ?= auto
# pytest exits 5 when a selection holds no test (e.g. PYTEST_ARGS=tests/browser leaves the parallel part
# empty): that is no failure here.
PYTEST = $(UV) run --frozen pytest
NONE_SELECTED_IS_FINE = || [ $$? -eq 5 ]

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

setup: .venv/.synced  ## Create the virtual environment and install Harken (uv, from the lock file)

browser:  ## Install Debian's chromium for the browser tests when missing
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	echo "Installing Debian's chromium for the browser tests (apt-get)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get install -y chromium \
		|| { $$sudo apt-get update && $$sudo apt-get install -y chromium; }

run: setup  ## Set up, migrate ./harken.db, load demo data, serve on http://127.0.0.1:8000
	$(UV) run --frozen harken db upgrade
	@echo "Demo orgs and their API keys (new keys each run):"
	@$(UV) run --frozen harken demo
	@echo "API docs: http://127.0.0.1:8000/docs    JWKS: http://127.0.0.1:8000/.well-known/jwks.json"
	@echo "Preference Centre: http://127.0.0.1:8000/centre  (sign in as lena@example.com: the link is printed below)"
	$(UV) run --frozen harken serve

lint: setup  ## ruff (lint and format), mypy over src and tests, the import contracts
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen ruff format --check src tests bench
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

# The serial part runs even when the parallel part failed, so one run reports every failure.
test: lint browser  ## Lint, then every test (PostgreSQL too when HARKEN_TEST_POSTGRES_URL is set)
	@failed=0; \
	set -x; \
	$(PYTEST) -n $(TEST_WORKERS) -m "not serial" $(PYTEST_ARGS) $(NONE_SELECTED_IS_FINE) || failed=1; \
	$(PYTEST) -m serial $(PYTEST_ARGS) $(NONE_SELECTED_IS_FINE) || failed=1; \
	exit $$failed

test-fast: setup  ## The quick tests only, in parallel: SQLite, no browser, fuzzing or server processes
	$(PYTEST) -n $(TEST_WORKERS) -m "not slow" --sqlite-only $(PYTEST_ARGS)

screenshots: setup browser  ## Refresh the Preference Centre's and the console's screenshots in docs/screenshots
	HARKEN_SCREENSHOTS_DIR=docs/screenshots $(UV) run --frozen pytest tests/browser/test_centre.py -k every_page -q
	HARKEN_SCREENSHOTS_DIR=docs/screenshots $(UV) run --frozen pytest tests/browser/test_grants.py -k photographed -q
	HARKEN_SCREENSHOTS_DIR=docs/screenshots $(UV) run --frozen pytest tests/browser/test_console.py -q

bench: setup  ## Measure writes, decisions, the ledger, imports and learning; the engine alone; the instruments' cost; agents' acts; prove no stale decision; see docs/benchmarks.md
	$(UV) run --frozen python -m bench $(BENCH_ARGS)
	$(UV) run --frozen python -m bench.stale --sqlite
	$(UV) run --frozen python -m bench.engine
	$(UV) run --frozen python -m bench.observe
	$(UV) run --frozen python -m bench.agents

clean:  ## Remove the environment and local state (not your database)
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
