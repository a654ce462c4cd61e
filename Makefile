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
# The first `make test` run fails (tests/unit/test_kernel_selection.py) unless the compiled kernels
# loaded; `make test ENGINE_EXPECT_COMPILED=0` on a machine that cannot compile them.
ENGINE_EXPECT_COMPILED ?= 1
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit test-integration lint bench-ratio bench bench-quick bench-deps chaos clean

$(PY):
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is required (python3.11+ on PATH)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall when the packaging or the Cython sources change (the build compiles engine/_fast in
# place; without a working C compiler it still installs, in pure-Python mode). The last line
# prints one status line: the compiled kernels in use, or a warning that they were not built.
$(STAMP): pyproject.toml setup.py $(wildcard engine/_fast/*.pyx engine/_fast/*.pxd) | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "setuptools>=68" wheel "Cython>=3.0"
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test]"
	@$(PY) -m engine._fast
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/payment-engine dev

test: install
	ENGINE_EXPECT_COMPILED=$(ENGINE_EXPECT_COMPILED) $(PY) -m pytest -q $(PYTEST_ARGS)
	ENGINE_NO_EXTENSIONS=1 $(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: install
	$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench-ratio: install
	$(PY) -m bench.ratio

# The side-by-side benchmark (engine vs synchronous baseline vs ceiling; bench/results/).
# `make bench` is the full run (about 25 minutes), `make bench-quick` the CI-sized one (about 3).
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS ?=

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test,bench]"
	@touch $@

bench-deps: $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: $(STAMP) $(BENCH_STAMP)
	$(PY) -m bench --quick $(BENCH_ARGS)

# The chaos suite with real processes (README: Chaos suite): 1,000 checkouts, 10 engine kills, a
# PostgreSQL restart, a Redis outage and sandbox faults; one summary line, non-zero on a violation.
# e.g. make chaos CHAOS_ARGS='--seed 7 --checkouts 1000 --kills 10'
CHAOS_ARGS ?=

chaos: install
	$(PY) -m chaos $(CHAOS_ARGS)

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find engine api sandbox bench tests -name '__pycache__' -type d -prune -exec rm -rf {} +
	find engine -name '*.so' -delete
	find engine/_fast -name '*.c' -delete
