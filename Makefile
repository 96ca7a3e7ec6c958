# Two commands for a fresh machine: `make demo` (platform with demo data) and `make test`.
#   make demo PORT=8080 HOST=0.0.0.0     serve the demo elsewhere (default 127.0.0.1:8000)
# The virtual environment is built with uv when it is on PATH (much faster), with pip otherwise.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# `make demo` needs the package and its dependencies only; the rest needs the dev extras too.
RUN_STAMP := $(VENV)/.installed-run-stamp
STAMP := $(VENV)/.installed-stamp
UV := $(shell command -v uv 2>/dev/null)

ifneq ($(UV),)
MAKE_VENV := $(UV) venv --quiet --python $(PYTHON) $(VENV)
INSTALL := $(UV) pip install --quiet --python $(BIN)/python
else
MAKE_VENV := $(PYTHON) -m venv $(VENV)
# A venv that uv made has no pip: bring it in. Byte-compiling every dependency at install
# time (pip's default) doubled the install; Python compiles what it imports on first use.
INSTALL := $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile
endif

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(MAKE_VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(INSTALL) -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(INSTALL) -e ".[dev]"
	touch $(STAMP) $(RUN_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/tongban demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	bash tools/ensure_chromium.sh
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# The house rules: ruff, the import contracts (pyproject.toml), and the rule tests that check
# what import contracts cannot (one commit owner, service-only boundaries, no ORM rows across
# them, no session on the event loop, settings passed in).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider tests/platform/test_house_rules.py

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
