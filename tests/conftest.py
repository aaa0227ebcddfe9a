from __future__ import annotations

import subprocess
import sys
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


@pytest.fixture(autouse=True)
def _step_time_cache(tmp_path_factory, monkeypatch):
    """Trials run by tests record their step times (and the catalog, workload sizes, ...) in a throwaway cache,
    not the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("SPEEDPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "cache" / "speedproof"))
