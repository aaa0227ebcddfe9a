"""Tests that follow the registry: a new method is tested here with no new test code."""

from __future__ import annotations

import math

import pytest
import torch

from harness.contracts import registry
from harness.contracts.interface import Claim, Method, Unavailable, claim_table
from harness.run.studies import quasirandom
from harness.train.workloads import quadratic

OPTIMIZERS = sorted(registry.available("optimizer"))


def test_every_file_is_registered_or_explained():
    for kind, entries in registry.registry().items():
        for name, entry in entries.items():
            assert isinstance(entry, Method | Unavailable)
            assert entry.name == name
            if isinstance(entry, Method):
                assert entry.citation, f"{kind} {name} has no citation"
                assert set(entry.search_space) <= set(entry.defaults), f"{name}: search space outside defaults"


def test_failed_import_is_unavailable_not_a_crash(tmp_path, monkeypatch):
    import implementations.optimizers as pkg

    (tmp_path / "broken_opt.py").write_text("import not_a_real_module_xyz\n")
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    entry = registry._load("optimizer", "broken_opt")
    assert isinstance(entry, Unavailable)
    assert "not_a_real_module_xyz" in entry.reason
    with pytest.raises(KeyError, match="unknown optimizer .nope."):
        registry.get("optimizer", "nope")


def _train_quadratic(method, hp: dict, steps: int = 200) -> tuple[float, float]:
    task = quadratic.build("tiny", seed=0)
    start, _ = task.evaluate(task.model)
    built = method.build(task.groups, **method.hparams(hp))
    opts = built if isinstance(built, list) else [built]
    needs = method.needs_for(hp)
    batches = task.batches(0)
    batch = next(batches)
    if "sampled_loss" in needs:  # least squares: the sampled loss is the per-example loss itself
        for opt in opts:
            opt.set_sampled_loss(lambda: 0.5 * (task.model(batch[0]) - batch[1]).pow(2).sum(-1))
    for _ in range(steps):
        loss = task.loss(task.model, batch)
        for opt in opts:
            opt.zero_grad()
        loss.backward(create_graph="create_graph" in needs)
        for opt in opts:
            opt.step()
        batch = next(batches)
    end, _ = task.evaluate(task.model)
    return start, end


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_lowers_loss_on_quadratic(name):
    """Defaults are tuned for language models, so each optimizer gets the same small tuning budget:
    its defaults plus 8 quasi-random points of its own search space (the harness's own sampler)."""
    method = registry.get("optimizer", name)
    configs = [{}, *quasirandom(method.search_space, 8, seed=0)]
    results = [_train_quadratic(method, hp) for hp in configs]
    start = results[0][0]
    best = min(end for _, end in results if math.isfinite(end))
    assert best < 0.5 * start, f"{name}: {start:.3f} -> {best:.3f}"


def test_trainer_asserts_single_ownership():
    from harness.train.trainer import _check_ownership

    model = torch.nn.Linear(2, 2)
    twice = torch.optim.SGD([model.weight, model.bias], lr=0.1), torch.optim.SGD([model.weight], lr=0.1)
    with pytest.raises(RuntimeError, match="owned by 2"):
        _check_ownership(model, twice)


# --------------------------------------------------------------------------- variants


def test_a_variant_fixes_hyperparameters_and_takes_them_out_of_tuning():
    base = registry.get("method", "nm_sparsity")
    v = registry.get("method", " nm_sparsity( sr_lambda = 1e-3 , recipe=sr_ste ) ")
    assert v.name == "nm_sparsity(recipe=sr_ste, sr_lambda=0.001)"  # canonical: keys sorted, YAML values
    assert v.defaults == {**base.defaults, "recipe": "sr_ste", "sr_lambda": 1e-3}
    assert set(v.search_space) == set(base.search_space) - {"recipe", "sr_lambda"}
    assert v.hparams({"recipe": "mdgf", "decay_end": 0.3})["decay_end"] == 0.3
    assert registry.variant("low_precision(activations=bf16, init_scale=1024)") == (
        "low_precision", {"activations": "bf16", "init_scale": 1024})


@pytest.mark.parametrize("name, message", [
    ("nm_sparsity(colour=red)", "has no hyperparameter 'colour'"),
    ("nm_sparsity(recipe)", "expected key=value"),
    ("nm_sparsity(recipe=sr_ste", "malformed variant"),
    ("nm_sparsity()", "fixes no hyperparameter"),
    ("nm_sparsty(recipe=sr_ste)", "did you mean 'nm_sparsity'"),
])
def test_bad_variants_are_one_line_key_errors(name, message):
    with pytest.raises(KeyError, match=message.replace("(", r"\(")):
        registry.get("method", name)


def test_every_claim_baseline_resolves_to_its_own_canonical_name():
    for kind, entries in registry.registry().items():
        for method in (m for m in entries.values() if isinstance(m, Method)):
            for claim in method.claims:
                if "(" in claim.baseline:  # a variant: the suite's results are stored under the canonical name
                    assert registry.get(kind, claim.baseline).name == claim.baseline


def test_a_claim_table_gives_every_row_the_shared_fields_in_row_order():
    shared = dict(quote="q", baseline="adamw", setting="s", source="p", scale_params=1e8)
    got = claim_table([dict(factor=2.0, metric="steps"), dict(factor=1.5, metric="time", hardware="gpu")], **shared)
    assert got == (Claim("q", 2.0, "steps", "adamw", "s", "p", 1e8),
                   Claim("q", 1.5, "time", "adamw", "s", "p", 1e8, hardware="gpu"))
    with pytest.raises(TypeError, match="baseline"):  # a field is either per row or shared, never both
        claim_table([dict(factor=2.0, metric="steps", baseline="sgd")], **shared)


def test_every_method_declares_its_claims_as_one_module_level_table():
    import importlib

    for kind, entries in registry.registry().items():
        for name, method in entries.items():
            if isinstance(method, Method) and method.claims:
                module = importlib.import_module(f"implementations.{registry.FOLDERS[kind]}.{name}")
                assert method.claims is module.CLAIMS, f"{kind} {name}: claims=CLAIMS, built by claim_table"


def test_the_catalog_matches_the_registry_and_spares_ls_the_imports(tmp_path, monkeypatch):
    """``harness ls`` and the dashboard's claims read a cached catalog: equal to the registry, rebuilt when an
    implementation file changes, and (once built) read without importing torch."""
    import os
    import subprocess
    import sys

    from harness.contracts import catalog, registry

    monkeypatch.setenv("SPEEDPROOF_CACHE", str(tmp_path))
    catalog.catalog.cache_clear()
    built = catalog.catalog()
    assert len(list(tmp_path.glob("catalog-*.json"))) == 1
    catalog.catalog.cache_clear()
    assert catalog.catalog() == built  # read back from the file
    for kind, entries in registry.registry().items():
        for name, m in entries.items():
            e = built[kind][name]
            assert (e.reason, e.summary, e.search_space, e.claims) == (
                (m.reason, "", {}, ()) if isinstance(m, registry.Unavailable) else
                (None, m.summary, m.search_space, tuple(m.claims)))
    key = catalog._key()
    touched = registry.ROOT / "schedules" / "linear.py"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    try:
        assert catalog._key() != key  # an edit rebuilds it
    finally:
        os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    code = ("import sys; from harness import cli; cli.main(['ls']); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SPEEDPROOF_CACHE": str(tmp_path)})
    assert done.returncode == 0 and "muon" in done.stdout, done.stderr[-2000:]
