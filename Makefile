# Entry points: `make run` (the web app), `make train`, `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ONDEVICE := src/signlens/serve/static/ondevice/versions.json
SIGNLENS_DATA ?= $(if $(wildcard ../shared/data),../shared/data,./data)
export SIGNLENS_DATA

.PHONY: install run train test lint format benchmark clean

install: $(STAMP) $(ONDEVICE)

# Re-installs only when the pins or the package metadata change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The page's on-device mode: the browser packages pinned in web/package-lock.json (npm ci, from the npm
# registry) and the bundled recogniser as one ONNX graph, into the served static folder. Without npm the
# page keeps its server mode (Debian: apt-get install nodejs npm).
$(ONDEVICE): $(STAMP) web/package-lock.json src/signlens/assets/recognizer.pt scripts/build_ondevice.py \
		src/signlens/pipeline/session.py
	@if command -v npm >/dev/null 2>&1; then \
		(cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) && \
		$(BIN)/python scripts/build_ondevice.py; \
	else echo "npm not found: the page's on-device mode is not built (apt-get install nodejs npm)"; fi

# The web app and API on http://127.0.0.1:8000/ (SERVE_HOST, SERVE_PORT, SERVE_ARGS override; see README).
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8000
run: install
	$(BIN)/signlens serve --host $(SERVE_HOST) --port $(SERVE_PORT) $(SERVE_ARGS)

# The default Sign MNIST recipe.
train: install
	$(BIN)/signlens train --data sign-mnist --seed 0 --out runs/default --exist-ok

# The JavaScript as the Python: ESLint and Prettier, pinned in web/package-lock.json (web/*.config.mjs).
JS := src/signlens/serve/static/*.mjs src/signlens/serve/static/sw.js tests/js/*.mjs
NODE_TOOLS := web/node_modules/.package-lock.json
$(NODE_TOOLS): web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: make lint needs node and npm (apt-get install nodejs npm)"; exit 2; }
	cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

lint: install $(NODE_TOOLS)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	web/node_modules/.bin/eslint --max-warnings 0 -c web/eslint.config.mjs $(JS)
	web/node_modules/.bin/prettier --config web/prettier.config.mjs --check $(JS)

# Rewrites the files lint checks into their formatters' style.
format: install $(NODE_TOOLS)
	$(BIN)/ruff format src tests benchmarks scripts
	web/node_modules/.bin/prettier --config web/prettier.config.mjs --write $(JS)

test: install lint
	$(BIN)/python -m pytest

benchmark: install
	$(BIN)/python benchmarks/sign_mnist.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
