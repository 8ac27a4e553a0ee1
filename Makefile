# Harken — `make help` lists the targets.
SHELL := /bin/bash
# uv from PATH, or else installed with pip into .tools/ (a fresh machine needs only Python).
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_LINK_MODE := copy

.PHONY: help setup browser run test lint bench screenshots clean

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

test: setup browser  ## Run every test (PostgreSQL too when HARKEN_TEST_POSTGRES_URL is set)
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports
	$(UV) run --frozen pytest $(PYTEST_ARGS)

screenshots: setup browser  ## Refresh the Preference Centre screenshots in docs/screenshots
	HARKEN_SCREENSHOTS_DIR=docs/screenshots $(UV) run --frozen pytest tests/browser/test_centre.py -k every_page -q

bench: setup  ## Measure writes, decisions, the ledger and imports; prove no stale decision; see docs/benchmarks.md
	$(UV) run --frozen python -m bench $(BENCH_ARGS)
	$(UV) run --frozen python -m bench.stale --sqlite

clean:  ## Remove the environment and local state (not your database)
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
