# Two commands on a fresh machine with only Python: `make demo` (run a suite, print the
# leaderboard) and `make test` (the test suite CI runs). Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench dashboard clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0   # the CPU build; an unpinned torch pulls CUDA wheels
	$(BIN)/python -m pip install -q -e ".[energy,dashboard,ray,dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/harness run suite=optimizers preset=smoke

# pytest-xdist workers for the parallel pass of `make test`
JOBS ?= auto

test: setup  # tiny models: one thread per process is faster and steadier; kill and browser tests run alone
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) -m "not serial and not browser"
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m "serial or browser"

bench: setup
	$(BIN)/python -m pytest tests/benchmarks --benchmark-only
	PYTHONPATH=. $(BIN)/python benchmarks/trainer_overhead.py

dashboard: setup
	$(BIN)/harness dashboard

clean:
	rm -rf $(VENV) .asv .pytest_cache
