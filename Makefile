# The two commands of the README. Each sets up what it needs in .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The docs build in their own venv with only the docs extra: proof that it is enough.
DOCS_VENV ?= .venv-docs
OUT ?= out

.PHONY: demo test lint bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-plot: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[plot]'
	touch $@

# Trains an MLP on two moons and writes the graph, the network, the loss curve and the boundary.
demo: $(VENV)/.installed-plot
	$(VENV)/bin/microgradnet demo --out $(OUT)

test: $(VENV)/.installed
	$(PY) -m pytest -n 2

# ruff, then mypy on the package (configured in pyproject.toml; zero errors).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check microgradnet tests examples benchmarks docs conftest.py
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(DOCS_VENV) $(OUT) .pytest_cache .ruff_cache .hypothesis .mypy_cache

$(DOCS_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DOCS_VENV)/bin/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(DOCS_VENV)/.installed
	$(DOCS_VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# Peers (torch, autograd, mygrad, micrograd) are measured when BENCH_PYTHON has them installed.
BENCH_PYTHON ?= $(PY)
bench: $(VENV)/.installed
	$(PY) benchmarks/run.py --python $(BENCH_PYTHON) $(BENCH_ARGS)
