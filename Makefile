# Two commands on a fresh machine with only Python: `make demo` (run a suite, print the
# leaderboard) and `make test` (the test suite CI runs). Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lock demo test bench dashboard clean

# Where torch==2.13.0 comes from (its install only: every other package comes from pip's usual index):
#   TORCH_INDEX empty (the default): pip's usual index. From PyPI on Linux x86_64 that is the CUDA build, which
#     brings several GB of nvidia-* wheels that requirements.lock does not list; on this development machine pip
#     finds its local CPU file first (/opt/wheels/torch-2.13.0+cpu-...whl, through its pip config).
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu   the CPU-only build from PyTorch's own index.
# Both satisfy the lock's torch==2.13.0, and `pip check` below passes with either.
TORCH_INDEX ?=
TORCH_FROM := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))

# requirements.lock pins every version; torch first, so that the lock's torch==2.13.0 finds the build chosen above
$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 $(TORCH_FROM)
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
