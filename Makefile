# The two quick-start commands are `make demo` and `make test`; each builds
# (or refreshes) the local virtual environment in .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-slow lint bench docs package clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
	$(PY) -c 'import reqfulfill, hypothesis, pytest, psycopg'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/reqfulfill demo

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: venv
	REQFULFILL_SLOW_RUNS=$${REQFULFILL_SLOW_RUNS:-1000} $(PY) -m pytest -m slow $(PYTEST_ARGS)

LINT_DIRS := $(wildcard src tests examples benchmarks)

lint: venv
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)
	$(VENV)/bin/mypy --strict src

bench: venv
	$(PY) -m benchmarks

docs: venv
	bash scripts/check_docs.sh $(DOCS_OUT)

package: venv
	bash scripts/check_package.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
