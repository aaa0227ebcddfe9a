"""Every statistic a verdict rests on, calibrated by simulation with a known truth through the engine the product
calls (``harness.stats.engine.judge`` on stored-style rows, benchmarks/simulate.py). Fixed random seeds and a few
hundred replicates each (docs/statistics.md has the full tables, ``benchmarks/calibrate_verdicts.py``); the
thresholds leave the Monte-Carlo error (1 s.e. ~ 1.5% on a 5% rate at 200 replicates) and test real properties."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import calibrate_verdicts as cal
from benchmarks import simulate as sim
from harness.stats.claims import MATCH_MARGIN

R = 200
C = cal.CLAIMED


def supported(out) -> float:
    return float(np.mean(out["verdict"] == "supported"))


@pytest.mark.parametrize("family, tau, repeats", [("power", 1.0, False), ("saturating", 2.0, True),
                                                  ("bent", 1.0, False), ("flattening", 2.0, True)])
def test_a_data_claim_judged_directly_is_rarely_supported_ten_percent_below_the_truth(family, tau, repeats):
    rng = np.random.default_rng(hash((family, tau)) % 2**32)
    out = sim.judge(sim.data_claim_rows(rng, R, family, np.full(R, 0.9 * C), C, 3, tau, repeats), sim.claim("data", C))
    assert set(out["basis"]) == {"direct"}
    assert supported(out) <= 0.05


def test_the_direct_rule_has_power_and_never_refutes_a_true_claim_often():
    rng = np.random.default_rng(5)
    out = sim.judge(sim.data_claim_rows(rng, R, "bent", np.full(R, C), C, 5, 1.0, True), sim.claim("data", C))
    assert supported(out) >= 0.3 and np.mean(out["verdict"] == "not supported") <= 0.05


def test_the_interpolated_interval_covers_on_power_laws_and_decides_nothing_alone():
    rng = np.random.default_rng(6)
    truth = rng.uniform(0.8, 2.0, R)
    power = sim.judge(sim.data_claim_rows(rng, R, "power", truth, C, 3, 1.0, direct=False), sim.claim("data", C))
    assert cal._covered(power, truth).mean() >= 0.90
    bent = sim.judge(sim.data_claim_rows(rng, R, "bent", np.full(R, C), C, 5, 0.0, True, direct=False),
                     sim.claim("data", C))
    assert np.mean(cal.alone(bent) == "not supported") > 0.2  # the interpolation alone refutes true claims here
    assert set(bent["verdict"]) == {"inconclusive"}  # so without the direct budgets nothing is decided


@pytest.mark.parametrize("evals", [5, 20])
def test_to_target_ratios_cover_and_a_crossing_before_the_first_evaluation_never_decides(evals):
    rng = np.random.default_rng(evals)
    truth = rng.uniform(0.8, 2.0, R)
    out = sim.judge(sim.target_rows(rng, R, truth, evals, sd=0.05, tau=1.0), sim.claim("steps", C))
    assert cal._covered(out, truth).mean() >= 0.90
    closed = np.isfinite(out["lo"].astype(float)) & np.isfinite(out["hi"].astype(float))
    assert not (out.loc[closed, "lo"] == out.loc[closed, "hi"]).any()  # never a zero-width interval
    true_claim = sim.judge(sim.target_rows(rng, R, np.full(R, C), evals, sd=0.05), sim.claim("steps", C))
    assert np.mean(true_claim["verdict"] == "not supported") <= 0.05
    false_claim = sim.judge(sim.target_rows(rng, R, np.full(R, 0.9 * C), evals, sd=0.05), sim.claim("steps", C))
    assert supported(false_claim) <= 0.05


def test_matches_or_beats_is_non_inferiority_with_its_margin():
    rng = np.random.default_rng(8)
    frame, _ = sim.accuracy_rows(rng, R, -MATCH_MARGIN, 5, repeats=True)
    assert supported(sim.judge(frame, sim.claim("quality", 0.0, form="matches"))) <= 0.05
    frame, _ = sim.accuracy_rows(rng, R, 0.0, 5, repeats=True)
    assert supported(sim.judge(frame, sim.claim("quality", 0.0))) <= 0.05  # "better" at a tie


def test_the_test_sets_own_variance_restores_coverage_of_the_population_difference():
    rng = np.random.default_rng(9)
    seeds_only, truth = sim.accuracy_rows(rng, R, 0.01, 5, sd=0.0005, store=False, repeats=True)
    paired, truth_paired = sim.accuracy_rows(rng, R, 0.01, 5, sd=0.0005, store=True, repeats=True)
    without = cal._covered(sim.judge(seeds_only, sim.claim("quality", 0.0)), truth).mean()
    with_it = cal._covered(sim.judge(paired, sim.claim("quality", 0.0)), truth_paired).mean()
    assert with_it >= 0.90 and without < with_it


def test_sequential_seeds_keep_false_support_at_five_percent_and_the_replay_agrees():
    rng = np.random.default_rng(10)
    full = sim.data_claim_rows(rng, 150, "power", np.full(150, 0.9 * C), C, 6, 0.0)
    verdicts, seeds = cal.sequential(full, start=3, cap=6)
    assert np.mean(verdicts == "supported") <= 0.05
    assert seeds.min() == 3 and seeds.max() <= 6
