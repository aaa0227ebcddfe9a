"""The engine's layers: no import cycle among the project's modules, and the import-linter contracts
(pyproject.toml; the allow-lists through ``tools/importlinter_allow.py``) fail the build on an import that runs back
up or leaves an allow-list, naming both modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "dashboard", "implementations")
LINT = Path(sys.executable).with_name("lint-imports")


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. the import cycles."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return out


def test_no_import_cycle():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert _cycles(graph) == []


@pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")
def test_contract_kept_and_a_back_import_breaks_it(tmp_path):
    ok = subprocess.run([str(LINT)], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert "0 broken" in ok.stdout
    for name in (*PACKAGES, "tools", "pyproject.toml"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    store = tmp_path / "harness" / "store" / "__init__.py"
    store.write_text(store.read_text() + "\nfrom harness import cli  # noqa\n")  # the store reaching up to the face
    method = tmp_path / "implementations" / "optimizers" / "sgd.py"
    method.write_text(method.read_text() + "\nfrom harness.train import trainer  # noqa\n")  # a method off its list
    page = tmp_path / "dashboard" / "look.py"
    page.write_text(page.read_text() + "\nfrom harness.contracts import catalog  # noqa\n")
    bad = subprocess.run([str(LINT), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    out = " ".join(bad.stdout.split())  # the report wraps long lines
    assert bad.returncode != 0
    assert "harness.store -> harness.cli" in out
    assert "A method imports only the method API BROKEN" in out
    assert "implementations.optimizers.sgd is not allowed to import harness.train.trainer" in out
    assert "dashboard.look is not allowed to import harness.contracts.catalog" in out
