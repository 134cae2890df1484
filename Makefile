# The only entry points people type. Every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Only the folders that exist: a fresh clone may not have benchmarks/ or examples/ yet.
LINT_PATHS := $(wildcard asyncgen pytest_asyncgen.py tests benchmarks examples)

.PHONY: install demo test check lint typecheck bench docs clean

$(STAMP): pyproject.toml pytest_asyncgen.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

# A real model behind a real async HTTP server on 127.0.0.1, load-tested with `asyncgen run`.
demo: $(STAMP)
	$(BIN)/python -m examples.digits_demo

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Fast subset for the edit loop: linters, types, and everything but the reference side by side.
check: lint typecheck
	$(BIN)/pytest -q -m "not conformance" -p no:cacheprovider

# The README's test command and what CI runs: linters, types, the whole suite with coverage.
test: lint typecheck
	$(BIN)/pytest -q --cov --cov-report=term -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The API reference, docs/api.md, from the docstrings of everything asyncgen exports.
docs: $(STAMP)
	$(BIN)/python docs/gen_api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
