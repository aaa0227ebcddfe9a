"""The disk caches behind a torch-free ``harness validate``: each returns what the slow path computes (to the
bit), starts afresh when its sources change, and never turns an unusable cache folder into an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import qmc

from harness import cache, config
from harness.contracts import catalog, registry
from harness.run import plan, studies
from harness.train import workloads
from tests.test_gpt_data import write_modded


def test_remember_computes_once_and_starts_afresh_when_a_source_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEEDPROOF_CACHE", str(tmp_path / "c"))
    source = tmp_path / "source.py"
    source.write_text("x = 1")
    calls = []
    assert cache.remember("t", [source], "k", lambda: calls.append(1) or (1.0 / 3, "a")) == [1.0 / 3, "a"]
    cache._tables.clear()  # another process: read back from the file, exactly
    assert cache.remember("t", [source], "k", lambda: calls.append(1)) == [1.0 / 3, "a"] and calls == [1]
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert cache.remember("t", [source], "k", lambda: calls.append(1) or 2) == 2 and calls == [1, 1]
    assert len(list((tmp_path / "c").glob("t-*.json"))) == 1  # the stale file is gone


def test_an_unusable_cache_folder_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SPEEDPROOF_CACHE", str(blocker))  # a file where the folder should be
    assert cache.remember("t", [], "k", lambda: 7) == 7
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / f"t-{cache.stamp([])}.json").write_text("{not json")
    monkeypatch.setenv("SPEEDPROOF_CACHE", str(tmp_path / "c"))
    cache._tables.clear()
    assert cache.remember("t", [], "k", lambda: 8) == 8


@pytest.mark.parametrize("d, n, seed", [(1, 4, 0), (3, 8, 0), (5, 16, 7)])
def test_cached_halton_points_are_scipys_to_the_bit(d, n, seed):
    space = {f"x{i}": registry.get("optimizer", "adamw").search_space["lr"] for i in range(d)}
    direct = qmc.Halton(d=d, scramble=True, seed=seed).random(n)
    for _ in range(2):  # computed, then read back
        cache._tables.clear() if _ else None
        got = studies.quasirandom(space, n, seed)
        assert [[c[f"x{i}"] for i in range(d)] for c in got] == [
            [space[f"x{i}"].from_unit(float(u)) for i, u in enumerate(row)] for row in direct]


@pytest.mark.parametrize("workload, scale", [("quadratic", "small"), ("logreg", "iris"), ("digits", "mlp"),
                                             ("gpt", "nano"), ("continual", "mlp")])
def test_cached_sizes_are_the_built_tasks(workload, scale):
    if scale not in workloads.scale_names()[workload]:
        scale = workloads.scale_names()[workload][0]
    task = workloads.load(workload).build(scale, 0, {"batch_size": 8})
    for _ in range(2):
        cache._tables.clear() if _ else None
        assert workloads.sizes(workload, scale, {"batch_size": 8, "path": None}) == (task.params, task.units_per_step)


def test_a_changed_data_folder_is_checked_and_counted_again(tmp_path):
    rng = np.random.default_rng(0)
    write_modded(tmp_path / "train.bin", rng.integers(0, 200, 5000))
    write_modded(tmp_path / "val.bin", rng.integers(0, 200, 1000))
    small = workloads.sizes("gpt", "nano", {"path": str(tmp_path)})
    write_modded(tmp_path / "train.bin", rng.integers(0, 50000, 5000))  # a bigger vocabulary: more parameters
    assert workloads.sizes("gpt", "nano", {"path": str(tmp_path)})[0] > small[0]
    (tmp_path / "val.bin").unlink()
    with pytest.raises(ValueError, match="needs a folder"):
        workloads.sizes("gpt", "nano", {"path": str(tmp_path)})


@pytest.mark.parametrize("kind, name", [("optimizer", "adamw"), ("method", "nm_sparsity(recipe=sr_ste)"),
                                        ("schedule", "wsd"), ("optimizer", "pytorch_optimizer.Lion")])
def test_the_catalog_resolves_names_as_the_registry_does(kind, name):
    entry, method = catalog.entry(kind, name), registry.get(kind, name)
    assert (entry.name, entry.search_space, entry.defaults) == (
        method.name, method.search_space, json.loads(json.dumps(method.defaults)))


@pytest.mark.parametrize("kind, name", [("optimizer", "adamm"), ("method", "nm_sparsity(nope=1)"),
                                        ("optimizer", "no_such_package.Thing")])
def test_the_catalog_refuses_names_with_the_registrys_words(kind, name):
    with pytest.raises(KeyError) as ours:
        catalog.entry(kind, name)
    with pytest.raises(KeyError) as theirs:
        registry.get(kind, name)
    assert ours.value.args == theirs.value.args


def test_validate_plans_without_torch_or_scipy_stats_and_the_same_plan(tmp_path):
    """Once the caches are warm (the first validate builds them), validate imports neither; its plan is the one
    the slow path makes."""
    args = ["validate", "suite=optimizers", f"results={tmp_path}"]
    code = (f"import sys; from harness import cli; cli.main({args!r}); "
            "print(sorted(m for m in ('torch', 'scipy.stats') if m in sys.modules))")
    env = {**os.environ, "SPEEDPROOF_CACHE": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    cold, warm = (r.stdout.splitlines() for r in runs)
    assert cold[-1] != "[]" and warm[-1] == "[]", (cold, warm)  # the cold one built the caches (torch, scipy)
    assert cold[:-1] == warm[:-1]
    spec = config.load(args[1:])
    assert warm[1] == plan.make_plan(spec, studies.expand(spec)).text()  # as this process plans it
