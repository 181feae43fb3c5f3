# Two entry points: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SIGNLENS_DATA ?= $(if $(wildcard ../shared/data),../shared/data,./data)
export SIGNLENS_DATA

.PHONY: install run test lint benchmark clean

install: $(STAMP)

# Re-installs only when the pins or the package metadata change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: install
	$(BIN)/signlens train --data sign-mnist --seed 0 --out runs/default --exist-ok

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

test: install lint
	$(BIN)/python -m pytest

benchmark: install
	$(BIN)/python benchmarks/sign_mnist.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
