"""The batch-size rule: the exponent is recovered from synthetic stability edges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.stats.batch_scaling import fit_exponent, largest_stable_lr

BATCHES = np.array([8, 16, 32, 64, 128, 256])


def test_exact_power_law():
    fit = fit_exponent(BATCHES, 3e-3 * BATCHES**0.5)
    assert fit["exponent"] == pytest.approx(0.5) and fit["prefactor"] == pytest.approx(3e-3)
    assert fit["ci_high"] - fit["ci_low"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_noisy_exponent_recovered_with_coverage(alpha):
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(200):
        lrs = 1e-3 * BATCHES**alpha * np.exp(rng.normal(0.0, 0.1, len(BATCHES)))
        fit = fit_exponent(BATCHES, lrs)
        covered += fit["ci_low"] <= alpha <= fit["ci_high"]
    assert 0.90 <= covered / 200 <= 0.99  # a 95% interval covers the truth about 95% of the time


def test_two_points_have_no_interval():
    fit = fit_exponent([8, 64], [1e-3, 8e-3])
    assert fit["exponent"] == pytest.approx(1.0) and math.isnan(fit["ci_low"])
    with pytest.raises(ValueError):
        fit_exponent([8, 8], [1e-3, 2e-3])


def grid_trials(alpha: float, optimizer: str) -> pd.DataFrame:
    rows = []
    for b in BATCHES:
        edge = 2e-3 * b**alpha
        for lr in np.logspace(-4, 1, 21):
            for seed in range(2):
                rows.append(dict(optimizer=optimizer, batch_size=int(b), hp_lr=lr, seed=seed,
                                 status="ok" if lr < edge else "diverged"))
    return pd.DataFrame(rows)


def test_grid_edges_recover_sgd_and_adam_exponents():
    trials = pd.concat([grid_trials(1.0, "sgd"), grid_trials(0.5, "adamw")])
    trials.loc[len(trials)] = dict(optimizer="sgd", batch_size=8, hp_lr=1e-4, seed=9, status="error")
    edges = largest_stable_lr(trials, by=("optimizer",))
    assert len(edges) == 12 and not edges["censored"].any()
    assert (edges["lr_stable"] < edges["lr_edge"]).all() and (edges["lr_edge"] < edges["lr_diverged"]).all()
    for optimizer, alpha in (("sgd", 1.0), ("adamw", 0.5)):
        e = edges[edges["optimizer"] == optimizer]
        fit = fit_exponent(e["batch_size"], e["lr_edge"])
        assert fit["ci_low"] <= alpha <= fit["ci_high"] and abs(fit["exponent"] - alpha) < 0.1


def test_one_diverged_seed_makes_a_cell_unstable_and_censoring():
    rows = [dict(batch_size=32, hp_lr=lr, status="ok") for lr in (0.01, 0.1, 1.0)]
    rows.append(dict(batch_size=32, hp_lr=0.1, status="diverged"))
    rows += [dict(batch_size=64, hp_lr=lr, status="ok") for lr in (0.01, 0.1)]
    edges = largest_stable_lr(pd.DataFrame(rows)).set_index("batch_size")
    assert edges.loc[32, "lr_stable"] == 0.01 and edges.loc[32, "lr_diverged"] == 0.1
    assert edges.loc[32, "lr_edge"] == pytest.approx(math.sqrt(0.01 * 0.1))
    assert edges.loc[64, "censored"] and edges.loc[64, "lr_edge"] == 0.1
