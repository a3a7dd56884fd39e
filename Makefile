# The two commands a new user needs: `make run` and `make test`. Both build .venv first.
UV_VERSION := 0.13.9
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_LINK_MODE := copy

.PHONY: setup node-deps run test lint bench bench-pulumi bench-backend evaluate clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The C extensions (apps/*/spy_*/_native.c) are compiled by uv sync: a change re-syncs.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock apps/*/pyproject.toml $(wildcard apps/*/spy_*/*.c apps/*/spy_*/*.h)
	$(UV) sync --frozen --inexact --all-packages --all-groups --quiet
	touch $@

setup: $(VENV)/.synced

## node-deps: the Node peers the backend tests drive (the official SignalR client, Azurite),
## each in its own folder from its committed package-lock.json (never hoisted together).
NODE_DIRS := tests/backend/node tests/backend/azurite
node-deps: $(NODE_DIRS:%=%/node_modules/.package-lock.json)

%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	npm ci --prefix $* --no-audit --no-fund --loglevel=error

## run: the platform's main job, until Ctrl-C: the local platform (gateway simulator,
## market data + detector, backend with API, hub and history) on http://127.0.0.1:8000.
run: setup
	$(VENV)/bin/spy-platform up

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## test: lint, then the whole test suite.
test: lint node-deps
	$(VENV)/bin/pytest

bench: setup
	$(VENV)/bin/python -m bench

## bench-backend: POST -> 100 hub clients latency, SQLite and HTTP ingest rates.
bench-backend: setup
	$(VENV)/bin/python -m bench.backend_benchmark

## bench-pulumi: time to evaluate the whole Pulumi program under mocks, per stack.
bench-pulumi: setup
	$(VENV)/bin/python -m bench.pulumi_benchmark

evaluate: setup
	$(VENV)/bin/python -m bench.evaluate_detector

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(NODE_DIRS:%=%/node_modules)
