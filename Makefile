# Two commands matter: `make run` (try it) and `make test` (prove it).
# Needs only python3.11+, a C compiler and make; everything else goes into .venv.

SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
PY    := $(BIN)/python
# The newest python3.11+ on PATH (override with `make PYTHON=/path/to/python3.12`).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	  && { echo $$p; break; }; done)
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit test-integration lint bench-ratio clean

$(PY):
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is required (python3.11+ on PATH)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall when the packaging or the Cython sources change (the build compiles engine/_fast).
$(STAMP): pyproject.toml setup.py $(wildcard engine/_fast/*.pyx) | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "setuptools>=68" wheel "Cython>=3.0"
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test]"
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/payment-engine dev

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)
	ENGINE_NO_EXTENSIONS=1 $(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: install
	$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench-ratio: install
	$(PY) -m bench.ratio

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find engine api sandbox bench tests -name '__pycache__' -type d -prune -exec rm -rf {} +
	find engine -name '*.so' -delete
	find engine/_fast -name '*.c' -delete
