# The two commands a new user needs: `make run` and `make test`. Both build .venv first.
UV_VERSION := 0.13.9
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_LINK_MODE := copy

.PHONY: setup node-deps frontend browser run test lint bench bench-pulumi bench-backend bench-frontend evaluate clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The C extensions (apps/*/spy_*/_native.c) are compiled by uv sync: a change re-syncs. uv also
# writes the installed packages' .pyc files (compile-bytecode in pyproject.toml, and why).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock apps/*/pyproject.toml $(wildcard apps/*/spy_*/*.c apps/*/spy_*/*.h)
	$(UV) sync --frozen --inexact --all-packages --all-groups --quiet
	touch $@

# The workspace's own packages are installed editable (a path in a .pth file), outside what uv
# compiles: their .pyc files are written here, for the same reason. compileall skips the
# up-to-date ones, so this is a few hundred ms after an edit and less otherwise.
setup: $(VENV)/.synced
	$(VENV)/bin/python -m compileall -q -j 0 apps stacks infra policies >/dev/null

## node-deps: the Node peers the backend tests drive (the official SignalR client, Azurite),
## each in its own folder from its committed package-lock.json (never hoisted together).
NODE_DIRS := tests/backend/node tests/backend/azurite
node-deps: $(NODE_DIRS:%=%/node_modules/.package-lock.json)

%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	npm ci --prefix $* --no-audit --no-fund --loglevel=error

## frontend: the dashboard bundle (frontend/dist), npm ci + typecheck + vite build from the
## committed lock; rebuilt only when a source file changed.
FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
	frontend/vite.config.ts frontend/tsconfig.json frontend/package-lock.json \
	$(wildcard frontend/public/*)
frontend: frontend/dist/index.html

# `npm install` from the committed lock, not `npm ci`: vite 8 names a Windows-only optional
# dependency (napi-windows-process-start-time) that the registry does not serve, which
# `npm ci` refuses as a lock out of sync; `npm install` keeps every locked version.
frontend/node_modules/.package-lock.json: frontend/package-lock.json frontend/package.json
	npm install --prefix frontend --no-audit --no-fund --loglevel=error

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SRC)
	npm run --prefix frontend --silent build

## browser: the headless Chromium the dashboard tests drive (Debian's package; Playwright's
## own download hosts are not reachable). Installed when missing and we are root; otherwise
## the browser tests skip, saying why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y --no-install-recommends chromium >/dev/null || \
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; } || \
		echo "chromium could not be installed: the browser tests will skip"; \
	else echo "no /usr/bin/chromium and not root: the browser tests will skip"; fi

## run: the platform's main job, until Ctrl-C: the local platform (gateway simulator,
## market data + detector, backend with API, hub and history) on http://127.0.0.1:8000.
run: setup frontend
	$(VENV)/bin/spy-platform up

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## test: lint, then the whole test suite.
test: lint node-deps frontend browser
	$(VENV)/bin/pytest

bench: setup
	$(VENV)/bin/python -m bench

## bench-backend: POST -> 100 hub clients latency, SQLite and HTTP ingest rates.
bench-backend: setup
	$(VENV)/bin/python -m bench.backend_benchmark

## bench-pulumi: time to evaluate the whole Pulumi program under mocks, per stack.
bench-pulumi: setup
	$(VENV)/bin/python -m bench.pulumi_benchmark

## bench-frontend: tick -> ladder repaint latency, canvas frame time, bundle size (Chromium).
bench-frontend: setup frontend browser
	$(VENV)/bin/python -m bench.frontend_benchmark

evaluate: setup
	$(VENV)/bin/python -m bench.evaluate_detector

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(NODE_DIRS:%=%/node_modules) \
		frontend/node_modules frontend/dist
