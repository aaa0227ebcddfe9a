"""Statistics of harness.stats.analysis against hand-computed cases and a published table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.stats.analysis import (
    PowerLaw,
    algoperf_score,
    best_configs,
    bootstrap_ci,
    data_speedup,
    data_speedup_ci,
    difference_ci,
    fit_power_law,
    leaderboard,
    lr_sensitivity,
    pareto_front,
    performance_profile,
    rank_with_ties,
    ratio_ci,
    target_times,
)

# --------------------------------------------------------------------------- data speedup


def test_power_law_fit_recovers_exact_parameters_and_inverts():
    d = np.array([1e7, 2e7, 4e7, 8e7])
    truth = PowerLaw(a=0.5, b=0.5, c=2.0, d0=1e7)
    law = fit_power_law(d, truth.loss(d))
    assert (law.a, law.b, law.c) == pytest.approx((0.5, 0.5, 2.0), rel=1e-5)
    # L = 0.5·x^-0.5 + 2 = 2.25  <=>  x = (0.5 / 0.25)^2 = 4
    assert law.budget(2.25) == pytest.approx(4e7, rel=1e-5)
    assert law.budget(law.c) == math.inf and law.budget(1.9) == math.inf


def test_power_law_fit_accepts_exactly_three_budgets():
    d = np.array([1.0, 2.0, 4.0])  # as many points as parameters: exact, with no covariance estimate
    law = fit_power_law(d, PowerLaw(a=8.0, b=0.3, c=1.5, d0=1.0).loss(d))
    assert law is not None and (law.a, law.b, law.c) == pytest.approx((8.0, 0.3, 1.5), rel=1e-4)


def test_data_speedup_is_exact_on_a_power_law_and_flags_extrapolation():
    truth = PowerLaw(a=0.8, b=0.3, c=1.5, d0=1.0)
    d = np.array([1.0, 2.0, 4.0, 8.0])
    out = data_speedup(d, truth.loss(d), d, truth.loss(1.5 * d))
    assert out["speedup"].to_numpy() == pytest.approx(1.5, rel=1e-5)
    assert out["equivalent_baseline_budget"].to_numpy() == pytest.approx(1.5 * d, rel=1e-5)
    assert out["extrapolated"].tolist() == [False, False, False, True]  # 12 > 8
    assert set(out["fit"]) == {"power_law"}
    edge = data_speedup(d, truth.loss(d), [8.0, 8.0], truth.loss(np.array([8.05, 8.2])))  # EDGE = 1%
    assert edge["extrapolated"].tolist() == [False, True]
    below_c = data_speedup(d, truth.loss(d), [8.0], [1.4])  # L <= c: the baseline never gets there
    assert below_c["speedup"].iloc[0] == math.inf and bool(below_c["extrapolated"].iloc[0])


def test_data_speedup_falls_back_to_interpolation_in_log_budget():
    # two points: (1, 4) and (4, 3); L = 3.5 is halfway in log D -> D* = 2, speedup 2 at D = 1
    out = data_speedup([1, 4], [4.0, 3.0], [1], [3.5])
    assert out["fit"].iloc[0] == "interpolation"
    assert out["speedup"].iloc[0] == pytest.approx(2.0)
    # non-monotone baseline: envelope (1, 4), (2, 3), (8, 2.5); L = 2.75 halfway between 2 and 8 in log D -> 4
    out = data_speedup([1, 2, 4, 8], [4.0, 3.0, 3.2, 2.5], [2, 1], [2.75, 4.5])
    assert out["fit"].tolist() == ["interpolation"] * 2
    assert out["equivalent_baseline_budget"].iloc[0] == pytest.approx(4.0)
    assert out["speedup"].iloc[0] == pytest.approx(2.0)
    # L = 4.5 > 4: first segment extended, log D* = (4.5 - 4)·(log 2 - 0)/(3 - 4) -> D* = 2^-0.5, flagged
    assert out["equivalent_baseline_budget"].iloc[1] == pytest.approx(2 ** -0.5)
    assert out["extrapolated"].tolist() == [False, True]


def test_data_speedup_recovers_a_known_multiplier_from_noisy_power_law_losses():
    rng = np.random.default_rng(1)
    truth, d0, k, seeds = PowerLaw(a=1.2, b=0.4, c=2.0, d0=1e7), 1e7, 1.3, 5
    base = [(d, truth.loss(d) + rng.normal(0, 0.002)) for d in d0 * np.array([1, 2, 4, 8, 16])
            for _ in range(seeds)]
    meth = [(d, truth.loss(k * d) + rng.normal(0, 0.002)) for d in d0 * np.array([1, 2, 4, 8])
            for _ in range(seeds)]
    out = data_speedup_ci(pd.DataFrame(base, columns=["budget", "loss"]),
                          pd.DataFrame(meth, columns=["budget", "loss"]), n_resamples=200)
    assert out["speedup"].to_numpy() == pytest.approx(k, rel=0.02)
    assert ((out["speedup_lo"] <= k) & (k <= out["speedup_hi"])).all()
    assert (out["speedup_lo"] < out["speedup"]).all() and (out["speedup"] < out["speedup_hi"]).all()


def test_data_speedup_ci_needs_two_seeds_per_budget():
    one_seed = pd.DataFrame({"budget": [1.0, 2.0, 4.0], "loss": [3.0, 2.8, 2.7]})
    out = data_speedup_ci(one_seed, one_seed, n_resamples=20)
    assert out["speedup"].to_numpy() == pytest.approx(1.0, rel=1e-6)
    assert out["speedup_lo"].isna().all() and out["speedup_hi"].isna().all()


# Published table: Wen, Hall, Ma, Liang, "Fantastic Pretraining Optimizers and Where to Find Them"
# (arXiv:2509.02046), appendix "Hyperparameter ablation for AdamW / Muon on 300m (520m) on Nx Chinchilla
# Data" tables, as released in github.com/marin-community/marin at commit
# 122c501870e0c056cbed0c97459ab76788f89948: experiments/optimizer_sweep/Analysis/PhaseI/tex/
# hyperparam_tables_{adamw,muon}.tex (1x) and .../PhaseII/tex/hyperparam_tables_{adamw,muon}.tex (2x-8x).
# Each number is the lowest "Loss" of its table (the tuned final validation loss); the repo's
# PhaseII/wandb_cache.json "min_loss" for Muon agrees (e.g. 300m 2x 3.14335, 4x 3.07928, 8x 3.02924).
# The paper's speedup_estimation.py fits AdamW with D in Chinchilla multiples and reads D_eff / D off it;
# its figures put Muon in the 1.2-1.3x band at 300m and 520m (abstract: 1.4x at 0.1B down to 1.1x at 1.2B).
CHINCHILLA = [1, 2, 4, 8]
PUBLISHED = {  # model: (AdamW losses, Muon losses) at 1x, 2x, 4x, 8x Chinchilla
    "300m": ([3.263, 3.166, 3.094, 3.042], [3.224, 3.143, 3.079, 3.029]),
    "520m": ([3.110, 3.023, 2.958, 2.913], [3.071, 3.002, 2.944, 2.900]),
}


@pytest.mark.parametrize("model", sorted(PUBLISHED))
def test_data_speedup_reproduces_the_published_muon_speedup(model):
    adamw, muon = PUBLISHED[model]
    params = {"300m": 301989888, "520m": 536870912}[model]  # the paper's parameter counts
    tokens = [20 * params * m for m in CHINCHILLA]  # the unit of D cancels in D*/D
    out = data_speedup(tokens, adamw, tokens, muon)
    assert set(out["fit"]) == {"power_law"}
    assert out["speedup"].between(1.15, 1.35).all(), out
    assert out["speedup"].mean() == pytest.approx(1.25, abs=0.03)
    # the fit in Chinchilla multiples (the paper's unit) gives the same speedups
    same = data_speedup(CHINCHILLA, adamw, CHINCHILLA, muon)
    assert same["speedup"].to_numpy() == pytest.approx(out["speedup"].to_numpy(), rel=1e-4)
    assert out["extrapolated"].tolist() == [False, False, False, True]  # Muon at 8x beats AdamW at 8x


# --------------------------------------------------------------------------- confidence intervals


def test_bootstrap_ci_hand_cases():
    # resampled means of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 95% percentile
    # interval is [0, 1]
    est = bootstrap_ci([0.0, 1.0], method="percentile", n_resamples=4000)
    assert (est.point, est.lo, est.hi) == (0.5, 0.0, 1.0)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    one = bootstrap_ci([3.0, np.nan])
    assert one.point == 3.0 and math.isnan(one.lo) and math.isnan(one.hi) and not one.has_interval
    assert bootstrap_ci([1.0, 2.0, 3.0], statistic=np.median).point == 2.0


def test_bootstrap_ci_has_the_normal_width_on_large_samples():
    x = np.random.default_rng(0).normal(10.0, 2.0, 400)
    est = bootstrap_ci(x)
    assert est.lo < 10.0 < est.hi
    assert est.hi - est.lo == pytest.approx(2 * 1.96 * x.std(ddof=1) / math.sqrt(len(x)), rel=0.1)


def test_ratio_and_difference_ci_hand_cases():
    est = ratio_ci([10.0, 11.0, 12.0], [5.0, 5.5, 6.0])
    assert est.point == pytest.approx(2.0) and est.lo < 2.0 < est.hi
    # baseline constant at 2; resampled method means 1, 1.5, 2 (1/4, 1/2, 1/4): ratios 2, 4/3, 1
    est = ratio_ci([2.0, 2.0], [1.0, 2.0], method="percentile", n_resamples=4000)
    assert (est.point, est.lo, est.hi) == pytest.approx((4 / 3, 1.0, 2.0))
    assert ratio_ci([4.0, 4.0], [2.0, 2.0]) == (2.0, 2.0, 2.0)
    lone = ratio_ci([4.0, 6.0], [2.0, np.nan])  # a method seed that missed the target is dropped
    assert lone.point == 2.5 and not lone.has_interval
    assert difference_ci([1.0, 3.0], [4.0, 6.0]).point == 3.0


# --------------------------------------------------------------------------- aggregates

TIMES = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [2.0, 2.0, 3.0]}, index=["w1", "w2", "w3"])


def test_performance_profile_hand_case():
    # ratios to the best: a = [1, 1, inf] (w3 not reached), b = [2, 1, 1]
    rho = performance_profile(TIMES, [1.0, 1.5, 2.0, 4.0])
    assert rho["a"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert rho["b"].tolist() == pytest.approx([2 / 3, 2 / 3, 1.0, 1.0])


def test_algoperf_score_is_the_normalised_area_under_the_profile():
    score = algoperf_score(TIMES, tau_max=4.0)
    # a: mean(3, 3, 0) / 3 = 2/3; b: mean(2, 3, 3) / 3 = 8/9
    assert score["a"] == pytest.approx(2 / 3) and score["b"] == pytest.approx(8 / 9)
    taus = np.linspace(1.0, 4.0, 30001)
    rho = performance_profile(TIMES, taus)
    area = ((rho.iloc[1:].to_numpy() + rho.iloc[:-1].to_numpy()) / 2 * np.diff(taus)[:, None]).sum(0) / 3
    assert area == pytest.approx(score.to_numpy(), abs=1e-3)


def test_target_times_feed_the_profile():
    rows = [_row(method=m, workload=w, seed=s, time_to_target_s=t, reached_target=r, final_val_loss=3.0)
            for m, w, s, t, r in [("a", "w1", 0, 1.0, True), ("a", "w1", 1, 3.0, True),
                                  ("b", "w1", 0, 4.0, True), ("a", "w2", 0, 9.0, False),
                                  ("b", "w2", 0, 5.0, True)]]
    times = target_times(pd.DataFrame(rows)).droplevel(["suite", "scale", "budget_multiple"])
    assert times.loc["w1"].tolist() == [2.0, 4.0] and times.loc["w2"].tolist() == [math.inf, 5.0]
    assert algoperf_score(times).tolist() == pytest.approx([(3 + 0) / 2 / 3, (2 + 3) / 2 / 3])


def test_rank_with_ties_shares_ranks_inside_the_noise():
    df = pd.DataFrame({"point": [1.0, 1.05, 1.3, 1.32, 2.0], "lo": [0.9, 1.0, 1.25, 1.28, np.nan],
                       "hi": [1.1, 1.2, 1.35, 1.4, np.nan]}, index=list("abcde"))
    assert rank_with_ties(df).tolist() == [1, 1, 3, 3, 5]
    # b overlaps a, c does not overlap a: chains do not merge (c is compared with the group's leader)
    chain = pd.DataFrame({"point": [1.0, 1.1, 1.2], "lo": [0.95, 1.04, 1.14], "hi": [1.05, 1.16, 1.26]})
    assert rank_with_ties(chain).tolist() == [1, 1, 3]
    assert rank_with_ties(df, lower_is_better=False).tolist() == [4, 4, 2, 2, 1]


def test_lr_sensitivity_hand_case():
    x = np.array([-4.0, -3.5, -3.0, -2.5, -2.0])
    df = pd.DataFrame({"phase": "tune", "suite": "s", "workload": "gpt", "scale": "nano",
                       "budget_multiple": 1.0, "method": "adamw", "status": "ok", "hp_lr": 10 ** x,
                       "final_val_loss": 3 + 0.5 * (x + 3) ** 2})
    df.loc[len(df)] = {**df.iloc[0].to_dict(), "hp_lr": 1.0, "status": "diverged", "final_val_loss": np.nan}
    out = lr_sensitivity(df, tolerance=0.05).iloc[0]
    assert out["best_lr"] == pytest.approx(1e-3) and out["best_loss"] == 3.0
    assert out["curvature"] == pytest.approx(1.0)  # d²L/dx² of 3 + 0.5(x + 3)²
    assert out["slope"] == pytest.approx(0.0, abs=1e-12)  # symmetric around the best
    assert out["lr_window_decades"] == pytest.approx(1.0)  # 0.5·dx² <= 0.15 keeps -3.5 .. -2.5
    assert (out["n_trials"], out["n_failed"]) == (6, 1)


# --------------------------------------------------------------------------- results tables


def _row(**kw):
    base = dict(suite="optimizers", workload="gpt", scale="nano", params=1_000_000, budget_multiple=1.0,
                budget_tokens=20_000_000, phase="final", status="ok", device="cpu",
                energy_method="codecarbon", final_val_metric=np.nan, reached_target=True,
                step_time_ms_p50=10.0, peak_mem_bytes=100)
    return {**base, **kw}


def test_best_configs_picks_the_lowest_ok_tuning_trial():
    df = pd.DataFrame([
        _row(phase="tune", method="adamw", trial_id="t1", final_val_loss=3.1, hp_lr=1e-3),
        _row(phase="tune", method="adamw", trial_id="t2", final_val_loss=3.0, hp_lr=3e-3),
        _row(phase="tune", method="adamw", trial_id="t3", final_val_loss=2.0, hp_lr=1e-2, status="diverged"),
        _row(phase="tune", method="adamw", trial_id="t4", final_val_loss=np.nan, hp_lr=3e-2, status="error"),
        _row(phase="tune", method="muon", trial_id="t5", final_val_loss=2.9, hp_lr=2e-2),
        _row(phase="final", method="muon", trial_id="f1", final_val_loss=1.0, hp_lr=2e-2),
    ])
    best = best_configs(df)
    assert best[["method", "trial_id"]].values.tolist() == [["adamw", "t2"], ["muon", "t5"]]


def test_leaderboard_speedups_ratios_and_energy_flag():
    truth, rows = PowerLaw(a=1.2, b=0.4, c=2.0, d0=2e7), []
    rng = np.random.default_rng(0)
    for m in (1.0, 2.0, 4.0, 8.0):
        for seed in range(3):
            noise = rng.normal(0, 0.001, 2)
            common = dict(budget_multiple=m, budget_tokens=int(2e7 * m), seed=seed)
            rows.append(_row(method="adamw", final_val_loss=truth.loss(2e7 * m) + noise[0],
                             steps_to_target=100 * m, time_to_target_s=10.0 * m + seed,
                             energy_to_target_j=50.0 * m, **common))
            rows.append(_row(method="muon", final_val_loss=truth.loss(1.3 * 2e7 * m) + noise[1],
                             steps_to_target=50 * m, time_to_target_s=8.0 * m + seed,
                             energy_to_target_j=40.0 * m, step_time_ms_p50=12.0, **common))
    rows.append(_row(method="muon", budget_multiple=1.0, seed=3, status="diverged", final_val_loss=np.nan))
    board = leaderboard(pd.DataFrame(rows), baseline="adamw", n_resamples=200)
    board = board.set_index(["method", "budget_multiple"])
    muon, adamw = board.loc["muon"], board.loc["adamw"]
    assert muon.loc[1.0, ["n_seeds", "n_failed"]].tolist() == [3, 1]
    assert muon["data_speedup"].to_numpy() == pytest.approx(1.3, rel=0.02)
    # three seeds: percentile intervals are narrow, so only ask that they reach within 1% of the truth
    assert (muon["data_speedup_lo"] <= 1.3 * 1.01).all() and (muon["data_speedup_hi"] >= 1.3 / 1.01).all()
    assert (muon["data_speedup_lo"] < muon["data_speedup_hi"]).all()
    assert adamw["data_speedup"].to_numpy() == pytest.approx(1.0, rel=5e-3)  # the fit smooths the noise
    assert muon["steps_ratio"].tolist() == [2.0] * 4 and muon["steps_ratio_lo"].tolist() == [2.0] * 4
    # time: baseline mean 10m + 1, muon mean 8m + 1
    assert muon["time_ratio"].to_numpy() == pytest.approx([(10 * m + 1) / (8 * m + 1) for m in (1, 2, 4, 8)])
    assert muon["energy_ratio"].tolist() == pytest.approx([1.25] * 4)
    assert set(board["energy_quality"]) == {"estimated"}
    assert muon["overhead_ratio"].tolist() == pytest.approx([1.2] * 4)
    assert muon["steps_reached"].tolist() == [1.0] * 4
    assert muon["loss_delta"].to_numpy() == pytest.approx(
        [truth.loss(2e7 * m) - truth.loss(1.3 * 2e7 * m) for m in (1, 2, 4, 8)], abs=3e-3)
    assert (muon["loss_lo"] <= muon["loss"]).all() and (muon["loss"] <= muon["loss_hi"]).all()


def test_pareto_front_keeps_only_undominated_points():
    cost = [1.0, 2.0, 2.0, 3.0, 4.0, np.nan, 5.0, 1.0]
    loss = [5.0, 4.0, 4.5, 4.0, 2.0, 1.0, 2.0, 5.0]
    # (2, 4.5) and (3, 4) are beaten by (2, 4); (5, 2) by (4, 2); NaN never; the duplicate (1, 5) once
    assert pareto_front(cost, loss).tolist() == [True, True, False, False, True, False, False, False]
    assert pareto_front([], []).tolist() == []


def test_metric_delta_is_positive_for_the_better_method_whichever_way_the_metric_points(tmp_path):
    from harness import store
    from tests.fake_results import write_fake_results

    write_fake_results(tmp_path, hardware=("cpu",), scales=("nano",), budgets=(0.5,))
    rows, _ = store.read_results(tmp_path)
    board = leaderboard(rows, "adamw", n_resamples=200).set_index("method")
    assert board.loc["muon", "metric_delta"] > 0 > board.loc["sgd", "metric_delta"]  # bits per token: lower wins
    acc = rows.assign(val_metric_name="accuracy", final_val_metric=-rows["final_val_metric"])  # higher wins
    board = leaderboard(acc, "adamw", n_resamples=200).set_index("method")
    assert board.loc["muon", "metric_delta"] > 0 > board.loc["sgd", "metric_delta"]
