# Two commands for a fresh machine: `make demo` (platform with demo data) and `make test`.
#   make demo PORT=8080 HOST=0.0.0.0     serve the demo elsewhere (default 127.0.0.1:8000)
# The virtual environment is built by tools/make_venv.py: with uv (on PATH, or installed into
# the venv by pip first), which installs the pins in ~20 s where pip alone took 80-130 s;
# TONGBAN_NO_UV=1 uses pip alone.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# `make demo` needs the package and its dependencies only; the rest needs the dev extras too.
RUN_STAMP := $(VENV)/.installed-run-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck bench clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) tools/make_venv.py $(VENV) -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) tools/make_venv.py $(VENV) -e ".[dev]"
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
