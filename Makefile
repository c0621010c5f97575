# The two quick-start commands are `make demo` and `make test`; each builds
# (or refreshes) the local virtual environment in .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-slow lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/reqfulfill demo

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: venv
	REQFULFILL_SLOW_RUNS=$${REQFULFILL_SLOW_RUNS:-1000} $(PY) -m pytest -m slow $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/mypy --strict src

bench: venv
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
