"""The fast paths of issue 20: contention flag, bf16 autocast, divergence checks without a per-step sync, MFU."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace

import pytest
import torch

from harness.spec import NEW_DEFAULTS, NOT_IDENTITY, Trial
from harness.train import hardware, trainer
from harness.train.trainer import run_trial


def test_contention_flags_load_above_the_cores():
    cores = hardware.cores()
    assert hardware.contention([0.5, cores + 0.5]) == {"threads": torch.get_num_threads(), "load_avg": cores + 0.5,
                                                         "contended": True}
    assert hardware.contention([0.1])["contended"] is False
    assert hardware.contention([])["contended"] is None


def nano(**kw) -> Trial:
    base = dict(suite="s", workload="gpt", scale="nano", budget_multiple=0.0, budget_tokens=1024 * 24,
                method="adamw", kind="optimizer", optimizer="adamw", schedule="cosine", training_method=None,
                hparams={"lr": 3e-3}, seed=0, evals=2, codecarbon=False)
    return Trial(**{**base, **kw})


def test_new_fields_at_their_defaults_keep_every_trial_id():
    trial = nano()
    old = {k: v for k, v in asdict(trial).items() if k not in (*NOT_IDENTITY, *NEW_DEFAULTS)}
    assert trial.trial_id == hashlib.sha256(json.dumps(old, sort_keys=True, default=str).encode()).hexdigest()[:16]
    assert replace(trial, precision="bf16").trial_id != trial.trial_id != replace(trial, compile=True).trial_id


def test_bf16_autocast_trains_on_cpu():
    row = run_trial(nano(precision="bf16"))
    assert row["status"] == "ok", row["error"]
    assert 0 < row["final_val_loss"] < 6 and row["mfu"] is None  # no peak FLOP/s for a CPU


def test_a_late_divergence_check_names_the_same_step(monkeypatch):
    trial = nano(hparams={"lr": 30.0}, divergence_factor=1.05, budget_tokens=1024 * 40)
    every_step = run_trial(trial)
    monkeypatch.setattr(trainer, "CHECK_EVERY", {"cpu": 8})
    batched = run_trial(trial)
    assert every_step["status"] == batched["status"] == "diverged"
    assert every_step["error"] == batched["error"] and every_step["steps"] == batched["steps"]


@pytest.mark.parametrize("dtype, precision", [("bfloat16", "bf16"), ("float16", "fp16")])
def test_mfu_divides_by_the_dtypes_peak(dtype, precision):
    from harness.train.hardware import matmul_precision, peak_flops

    assert matmul_precision(getattr(torch, dtype)) == precision
    assert peak_flops("NVIDIA H100 80GB HBM3", precision) == 989.4e12


def test_muon_newton_schulz_in_bf16_is_torchs_and_fp32_orthogonalises_as_well():
    from harness.contracts import registry

    muon = registry.get("optimizer", "muon")
    module = __import__(muon.build.__module__, fromlist=["Muon"])
    torch.manual_seed(0)
    shapes = [(64, 32), (32, 48)]
    mats = [torch.nn.Parameter(torch.randn(*s)) for s in shapes]
    theirs_p = [torch.nn.Parameter(m.detach().clone()) for m in mats]
    ours, theirs = module.Muon(mats, lr=0.02, adjust_lr_fn="match_rms_adamw"), torch.optim.Muon(
        theirs_p, lr=0.02, adjust_lr_fn="match_rms_adamw")
    original = module.CPU_FP32_BELOW
    try:
        module.CPU_FP32_BELOW = 0  # bf16 everywhere: bit for bit torch's step
        for _ in range(3):
            for p, q in zip(mats, theirs_p):
                p.grad = q.grad = torch.randn_like(p)
            ours.step()
            theirs.step()
        assert all(torch.equal(p, q) for p, q in zip(mats, theirs_p))
    finally:
        module.CPU_FP32_BELOW = original
    g = torch.randn(96, 32)
    spread = {dt: float((torch.linalg.svdvals(module.newton_schulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7, dt)
                                              .float()) - 1).abs().max()) for dt in (torch.float32, torch.bfloat16)}
    assert module.ns_dtype(g.shape, g.device) == torch.float32
    assert abs(spread[torch.float32] - spread[torch.bfloat16]) < 0.05 and spread[torch.float32] < 0.4


@pytest.mark.parametrize("spec", [dict(), dict(training_method="nm_sparsity", kind="method", method="nm_sparsity")])
def test_one_build_per_trial_trains_exactly_as_two_builds(spec):
    """run_trial builds the task once (the warm-up trains a deep copy): the run is bit for bit a fresh build's."""
    trial = nano(budget_tokens=1024 * 8, **spec)
    parts = trainer._components(trial)
    device = torch.device("cpu")
    trainer._train(trial, parts, device, warmup=True)
    fresh = trainer._train(trial, parts, device)
    row = run_trial(trial)
    assert row["status"] == "ok", row["error"]
    assert row["curve_train_loss"] == fresh["curve_train_loss"] and row["final_val_loss"] == fresh["final_val_loss"]
