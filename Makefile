# Two commands on a fresh machine with only Python: `make demo` (run a suite, print the
# leaderboard) and `make test` (the test suite CI runs). Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lock demo test bench dashboard clean

# requirements.lock pins every version; torch first, so the lock's torch==2.13.0 is the CPU build already there
$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0   # the CPU build; an unpinned torch pulls CUDA wheels
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q -e . --no-deps
	$(BIN)/python -m pip check   # a lock older than pyproject.toml fails here: run `make lock`
	touch $(STAMP)

# regenerate the lock after a dependency changes in pyproject.toml (pip resolves; nothing is installed)
lock:
	$(PY) tools/lock.py > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock

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
