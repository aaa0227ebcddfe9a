from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def harness_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m harness ARGS`` as a user would, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def cli():
    return harness_cli


def pytest_collection_modifyitems(items) -> None:
    """Tests that kill processes or time a pool's kill limits run serially (``make test``'s second pass)."""
    for item in items:
        if "kill" in item.name:
            item.add_marker(pytest.mark.serial)


CACHE_VARIABLES = ("XDG_CACHE_HOME", "SPEEDPROOF_CACHE")
_CACHE = pytest.StashKey[tuple]()  # (the run's cache folder, the variables as they were)


def pytest_configure(config) -> None:
    """The whole test run (collection, session and module fixtures, the processes tests start) keeps its caches
    (step times, the catalog, workload sizes, ...) in a throwaway folder, never the user's ~/.cache."""
    folder = tempfile.mkdtemp(prefix="speedproof-test-cache-")
    config.stash[_CACHE] = (folder, {k: os.environ.get(k) for k in CACHE_VARIABLES})
    os.environ["XDG_CACHE_HOME"] = folder
    os.environ["SPEEDPROOF_CACHE"] = os.path.join(folder, "speedproof")


def pytest_unconfigure(config) -> None:
    folder, before = config.stash[_CACHE]
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(folder, ignore_errors=True)
