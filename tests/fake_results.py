"""Clearly synthetic result rows for the dashboard's tests, written with ``harness.store.write_row``.

The final losses follow L(D) = 1.5 + 8·(k·D)^-0.3, where k is a method's data-efficiency factor
(adamw 1, muon 1.4, sgd 0.6), so the expected speedups are known; every row says it is synthetic
(``run_id = "synthetic"``). Never write these rows into ``results/``.

``write_fake_classification`` adds a second suite (``backprop_free`` on ``digits``, budgets in examples,
accuracy as the metric): ``mono_forward`` 1.2x as data-efficient as ``backprop``, ``forward_forward`` stuck
at chance (loss ln 10, accuracy 0.1) and with a single final seed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from harness import store

SCALES = {"nano": 40_000, "micro": 160_000}
BUDGETS = (0.25, 0.5, 1.0)
FACTORS = {"adamw": 1.0, "muon": 1.4, "sgd": 0.6}
HARDWARE = {  # device, device_name, energy_method, seconds per token, watts
    "cpu": ("cpu", None, "codecarbon", 2e-5, 30.0),
    "h100": ("cuda:0", "NVIDIA H100 80GB HBM3", "nvml", 1e-6, 500.0),
}
TARGET, CLASSIFIER_TARGET = 6.5, 1.6


CLASSIFIER = {"backprop": 1.0, "mono_forward": 1.2, "forward_forward": 0.0}  # 0: never learns (chance)
CHANCE = float(np.log(10))


def _loss(method: str, tokens: float) -> float:
    """L(D) = 1.5 + 8·(k·D)^-0.3 for language models; 0.1 + 2·(k·D)^-0.3 for the classifiers, ln 10 at chance."""
    if method in CLASSIFIER:
        factor = CLASSIFIER[method]
        return CHANCE if factor == 0 else 0.1 + 2.0 * (factor * tokens / 1e5) ** -0.3
    return 1.5 + 8.0 * (FACTORS.get(method, 1.0) * tokens / 1e5) ** -0.3


def _row(suite, hardware, scale, budget, method, phase, seed, lr, rng, status="ok", workload="gpt") -> dict:
    device, device_name, energy_method, s_per_token, watts = HARDWARE[hardware]
    params = SCALES[scale]
    tokens = int(20 * params * budget)
    steps = max(tokens // 1024, 4)
    lr_penalty = 0.5 * np.log10(lr / 3e-3) ** 2  # tuning trials away from the best lr lose a little
    final = _loss(method, tokens) + lr_penalty + rng.normal(0, 0.01)
    curve_step = np.linspace(steps / 4, steps, 4).round().astype(int)
    curve_loss = [_loss(method, tokens * s / steps) + lr_penalty for s in curve_step[:-1]] + [final]
    overhead = {"muon": 1.15, "sgd": 0.9}.get(method, 1.0)
    curve_time = (curve_step * 1024 * s_per_token * params / 4e4 * overhead).tolist()
    curve_energy = [t * watts for t in curve_time]
    classifier = workload != "gpt"
    target = CLASSIFIER_TARGET if classifier else TARGET
    reached = [i for i, x in enumerate(curve_loss) if x <= target]
    hit = reached[0] if reached else None
    trial_id = hashlib.sha1(f"{suite}{hardware}{scale}{budget}{method}{phase}{seed}{lr}".encode()).hexdigest()[:16]
    ok = status == "ok"
    metric = (1.0 - min(final / CHANCE, 0.9) if classifier else final / np.log(2)) if ok else None
    return {
        "trial_id": trial_id, "run_id": "synthetic", "suite": suite, "suite_version": "1", "phase": phase,
        "baseline": "backprop" if classifier else "adamw", "workload": workload, "scale": scale, "params": params,
        "budget_tokens": tokens, "budget_multiple": budget,
        "method": method, "kind": "method" if classifier else "optimizer",
        "optimizer": None if classifier else method, "schedule": "cosine", "seed": seed,
        "study_id": f"{hardware}-{scale}-{budget}-{method}", "tuning_trials": 3, "tuning_protocol": "quasirandom",
        "hparams_json": json.dumps({"lr": lr, "weight_decay": 0.1}), "hp_lr": lr, "hp_weight_decay": 0.1,
        "search_space_json": json.dumps({"lr": {"LogUniform": [1e-4, 1e-1]}}),
        "status": status, "error": None if ok else "loss became NaN at step 3",
        "final_val_loss": final if ok else None, "final_val_metric": metric,
        "val_metric_name": "accuracy" if classifier else "bits_per_token", "target_value": target,
        "chance_loss": CHANCE if classifier else float(np.log(65536)),
        "reached_target": ok and hit is not None,
        "steps": steps, "tokens": tokens, "flops": 6.0 * params * tokens, "train_time_s": curve_time[-1],
        "step_time_ms_p50": 1000 * curve_time[-1] / steps, "time_to_target_s": curve_time[hit] if hit is not None
        else None, "steps_to_target": int(curve_step[hit]) if hit is not None else None,
        "energy_j": curve_energy[-1], "energy_to_target_j": curve_energy[hit] if hit is not None else None,
        "energy_method": energy_method, "peak_mem_bytes": int(params * 16 * overhead),
        "curve_step": curve_step.tolist(), "curve_tokens": (curve_step * 1024).tolist(), "curve_time_s": curve_time,
        "curve_energy_j": curve_energy, "curve_val_loss": curve_loss if ok else None,
        "device": device, "device_name": device_name, "gpu_count": 1 if device != "cpu" else 0,
        "cpu_model": "Synthetic CPU", "torch_version": "2.13.0", "python_version": "3.11.7",
        "harness_version": "0.1.0", "git_sha": "0" * 40, "git_dirty": False, "started_at": "2026-01-01T00:00:00+00:00",
    }


def write_fake_results(results: Path, hardware=("cpu", "h100"), scales=tuple(SCALES), budgets=BUDGETS,
                       seeds: int = 3, suite: str = "optimizers", methods=tuple(FACTORS), workload: str = "gpt",
                       single_seed: tuple[str, ...] = ()) -> int:
    """Write tuning trials (3 lrs, one diverged) and ``seeds`` final trials per study (one for the
    methods in ``single_seed``); returns the row count."""
    rng = np.random.default_rng(0)
    n = 0
    for hw in hardware:
        for scale in scales:
            for budget in budgets:
                for method in methods:
                    kw = dict(workload=workload)
                    for lr in (1e-3, 3e-3, 1e-2):
                        store.write_row(results, _row(suite, hw, scale, budget, method, "tune", 0, lr, rng, **kw))
                    store.write_row(results, _row(suite, hw, scale, budget, method, "tune", 0, 1.0, rng,
                                                  status="diverged", **kw))
                    finals = 1 if method in single_seed else seeds
                    for seed in range(1, finals + 1):
                        store.write_row(results, _row(suite, hw, scale, budget, method, "final", seed, 3e-3, rng,
                                                      **kw))
                    n += 4 + finals
    return n


def write_fake_classification(results: Path, seeds: int = 3) -> int:
    """The ``backprop_free`` suite on ``digits`` (CPU, nano, 3 budgets); see the module docstring."""
    return write_fake_results(results, hardware=("cpu",), scales=("nano",), seeds=seeds, suite="backprop_free",
                              methods=tuple(CLASSIFIER), workload="digits", single_seed=("forward_forward",))
