# `make test` and `make demo` create .venv and install the project (with every extra) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Two workers: the suite is sized for a 2-core machine (tests are mostly single-threaded).
PYTEST := $(PY) -m pytest -q -p no:cacheprovider -n 2

.PHONY: install lint test test-tensorflow test-jax test-torch demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]"
	touch $(STAMP)

# TensorFlow runs the whole suite; JAX and torch run the tests marked multi_backend
# (backend-independent tests such as data readers would only repeat themselves).
test: $(STAMP)
	$(MAKE) --no-print-directory lint test-tensorflow test-jax test-torch

# ruff (lint + import order) is configured in pyproject.toml; the tree stays clean.
lint: $(STAMP)
	$(VENV)/bin/ruff check .

test-tensorflow: $(STAMP)
	KERAS_BACKEND=tensorflow $(PYTEST)

test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PYTEST) -m multi_backend

test-torch: $(STAMP)
	KERAS_BACKEND=torch $(PYTEST) -m multi_backend

demo: $(STAMP)
	$(VENV)/bin/rnn-zoo demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
