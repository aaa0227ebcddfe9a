"""Statistics of harness.stats.analysis against hand-computed cases and a published table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.stats.analysis import (
    algoperf_score,
    best_configs,
    difference_ci,
    leaderboard,
    lr_sensitivity,
    mean_ci,
    pareto_front,
    performance_profile,
    rank_with_ties,
    ratio_ci,
    target_times,
)
from harness.stats.power_law import PowerLaw, fit_power_law
from harness.stats.speedup import data_speedup, speedup_table

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


def test_data_speedup_is_exact_inside_the_budgets_and_a_bound_beyond_them():
    truth = PowerLaw(a=0.8, b=0.3, c=1.5, d0=1.0)
    d = np.array([1.0, 2.0, 4.0, 8.0])
    out = data_speedup(d, truth.loss(d), d, truth.loss(1.5 * d))
    assert out["kind"].tolist() == ["value"] * 3 + ["lower_bound"]  # 1.5 x 8 = 12 lies beyond 8
    assert out["speedup"].iloc[:3].to_numpy() == pytest.approx(1.5, rel=2e-3)  # the power-law shape between budgets
    assert out["speedup"].iloc[3] == 1.0 and out["text"].iloc[3] == "> 1.00x (no interval)"  # D_k / D, a bound
    below = data_speedup(d, truth.loss(d), [2.0], [1.4])  # below every baseline loss: "> 4.00x", never inf
    assert below["kind"].iloc[0] == "lower_bound" and below["speedup"].iloc[0] == 4.0
    above = data_speedup(d, truth.loss(d), [2.0], [truth.loss(0.5)])  # above every baseline loss
    assert above["kind"].iloc[0] == "upper_bound" and above["text"].iloc[0] == "< 0.50x (no interval)"


def test_data_speedup_interpolates_in_log_budget_with_two_budgets():
    # two points: (1, 4) and (4, 3); L = 3.5 is halfway in log D -> D* = 2, speedup 2 at D = 1
    out = data_speedup([1, 4], [4.0, 3.0], [1], [3.5])
    assert out["speedup"].iloc[0] == pytest.approx(2.0) and out["b"].iloc[0] == 0.0


def test_speedup_table_recovers_a_known_multiplier_from_noisy_power_law_losses():
    rng = np.random.default_rng(1)
    truth, d0, k, seeds = PowerLaw(a=1.2, b=0.4, c=2.0, d0=1e7), 1e7, 1.3, 5
    base = [(d, truth.loss(d) + rng.normal(0, 0.002)) for d in d0 * np.array([1, 2, 4, 8, 16])
            for _ in range(seeds)]
    meth = [(d, truth.loss(k * d) + rng.normal(0, 0.002)) for d in d0 * np.array([1, 2, 4, 8])
            for _ in range(seeds)]
    out = speedup_table(pd.DataFrame(base, columns=["budget", "loss"]), pd.DataFrame(meth, columns=["budget", "loss"]))
    assert out["speedup"].to_numpy() == pytest.approx(k, rel=0.02)
    assert ((out["speedup_lo"] <= k) & (k <= out["speedup_hi"])).all()
    assert (out["speedup_lo"] < out["speedup"]).all() and (out["speedup"] < out["speedup_hi"]).all()


def test_one_seed_per_budget_gives_no_interval_and_the_baseline_is_one_against_itself():
    one_seed = pd.DataFrame({"budget": [1.0, 2.0, 4.0], "loss": [3.0, 2.8, 2.7]})
    out = speedup_table(one_seed, one_seed)
    assert out["speedup"].tolist() == [1.0, 1.0, 1.0]
    assert out["speedup_lo"].isna().all() and out["speedup_hi"].isna().all()


# --------------------------------------------------------------------------- confidence intervals


def test_mean_ci_is_the_t_interval():
    x = [1.0, 2.0, 4.0]
    est = mean_ci(x)
    half = stats.t.ppf(0.975, 2) * np.std(x, ddof=1) / math.sqrt(3)
    assert (est.point, est.lo, est.hi) == pytest.approx((7 / 3, 7 / 3 - half, 7 / 3 + half))
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    one = mean_ci([3.0, np.nan])
    assert one.point == 3.0 and math.isnan(one.lo) and math.isnan(one.hi) and not one.has_interval


def test_ratio_and_difference_ci_are_welch_intervals():
    b, m = np.array([10.0, 11.0, 12.0]), np.array([5.0, 5.5, 6.0])
    est = ratio_ci(b, m)  # geometric means; the Welch interval of the log values, exponentiated
    assert est.point == pytest.approx(2.0) and est.lo < 2.0 < est.hi
    lb, lm = np.log(b), np.log(m)
    v = lb.var(ddof=1) / 3 + lm.var(ddof=1) / 3
    df = v**2 / ((lb.var(ddof=1) / 3) ** 2 / 2 + (lm.var(ddof=1) / 3) ** 2 / 2)
    assert est.hi == pytest.approx(2.0 * math.exp(stats.t.ppf(0.975, df) * math.sqrt(v)))
    assert ratio_ci([4.0, 4.0], [2.0, 2.0]) == (2.0, 2.0, 2.0)
    lone = ratio_ci([4.0, 4.0], [2.0, np.nan])  # a method seed that missed the target is dropped
    assert lone.point == 2.0 and not lone.has_interval
    assert ratio_ci([4.0, 4.0], [0.0, 0.0]).point == math.inf  # sends nothing: an infinite reduction
    diff = difference_ci([1.0, 3.0], [4.0, 6.0])
    assert diff.point == 3.0 and diff.lo == pytest.approx(3.0 - stats.t.ppf(0.975, 2) * math.sqrt(2))


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
    """A final row; a crossing given as ``*_to_target`` is bracketed from 0.8 of it (the evaluation before) and
    interpolated half way, as the trainer records it."""
    base = dict(suite="optimizers", workload="gpt", scale="nano", params=1_000_000, budget_multiple=1.0,
                budget_tokens=20_000_000, phase="final", status="ok", device="cpu",
                energy_method="codecarbon", final_val_metric=np.nan, reached_target=True,
                step_time_ms_p50=10.0, peak_mem_bytes=100, target_crossing=0.5, seed=1)
    for hi, lo in (("steps_to_target", "steps_to_target_lo"), ("time_to_target_s", "time_to_target_lo_s"),
                   ("energy_to_target_j", "energy_to_target_lo_j")):
        if hi in kw:
            base[lo] = 0.8 * kw[hi]
    row = {**base, **kw}
    return {"study_id": f"{row.get('method')}|{row['scale']}|{row['budget_multiple']}", **row}


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
    board = leaderboard(pd.DataFrame(rows), baseline="adamw")
    board = board.set_index(["method", "budget_multiple"])
    muon, adamw = board.loc["muon"], board.loc["adamw"]
    assert muon.loc[1.0, ["n_seeds", "n_failed"]].tolist() == [3, 1]
    assert muon["data_speedup"].iloc[:3].to_numpy() == pytest.approx(1.3, rel=0.02)
    assert muon["data_speedup_kind"].tolist() == ["value"] * 3 + ["lower_bound"]  # 1.3 x 8 lies beyond 8
    inside = muon.loc[[1.0, 2.0, 4.0]]
    assert ((inside["data_speedup_lo"] <= 1.3) & (inside["data_speedup_hi"] >= 1.3)).all()
    assert muon.loc[8.0, "data_speedup_text"].startswith("> 1.00x")
    assert adamw["data_speedup"].tolist() == [1.0] * 4  # by definition, not by fit
    assert set(adamw["data_speedup_kind"]) == {"baseline"} and adamw["data_speedup_lo"].isna().all()
    assert muon["steps_ratio"].tolist() == pytest.approx([2.0] * 4)  # crossings 90m over 45m
    # bracketed: the baseline's earliest (80m) over the method's latest (50m), its latest (100m) over the earliest
    assert muon["steps_ratio_lo"].tolist() == pytest.approx([1.6] * 4)
    assert muon["steps_ratio_hi"].tolist() == pytest.approx([2.5] * 4)
    # time: geometric means of 0.9 (10m + seed) over 0.9 (8m + seed)
    assert muon["time_ratio"].to_numpy() == pytest.approx(
        [stats.gmean([10 * m + s for s in range(3)]) / stats.gmean([8 * m + s for s in range(3)])
         for m in (1, 2, 4, 8)])
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
    board = leaderboard(rows, "adamw").set_index("method")
    assert board.loc["muon", "metric_delta"] > 0 > board.loc["sgd", "metric_delta"]  # bits per token: lower wins
    acc = rows.assign(val_metric_name="accuracy", final_val_metric=-rows["final_val_metric"])  # higher wins
    board = leaderboard(acc, "adamw").set_index("method")
    assert board.loc["muon", "metric_delta"] > 0 > board.loc["sgd", "metric_delta"]


# --------------------------------------------------------------------------- regressions from stored rows


def _stored(tmp_path, rows):
    from harness import store

    for i, r in enumerate(rows):
        store.write_row(tmp_path, {**r, "trial_id": f"t{i:03d}"})
    return store.read_results(tmp_path)[0]


def test_a_flat_noisy_baseline_gives_a_bound_not_8_70x_and_no_support(tmp_path):
    """The review's case (gpt/micro at 0.02-0.08x Chinchilla): a nearly flat, noisy AdamW curve whose power-law
    fit (L = 3.23 (D/4.5e4)^-0.06 + 0) printed Muon at 8.70x [3.46, 1167474220.45] and "supported" 1.4x."""
    from harness.contracts.interface import Claim
    from harness.stats.claims import judge_board

    rng, rows = np.random.default_rng(4), []
    for m in (0.02, 0.04, 0.08):
        tokens = int(20 * 112560 * m)
        for seed in (1, 2):
            rows.append(_row(method="adamw", scale="micro", params=112560, budget_multiple=m, budget_tokens=tokens,
                             seed=seed, final_val_loss=3.23 * (tokens / 4.5e4) ** -0.06 + rng.normal(0, 0.01)))
            if m > 0.02:
                rows.append(_row(method="muon", scale="micro", params=112560, budget_multiple=m, budget_tokens=tokens,
                                 seed=seed, final_val_loss={0.04: 2.72, 0.08: 2.60}[m] + rng.normal(0, 0.01)))
    board = leaderboard(_stored(tmp_path, rows), "adamw").set_index(["method", "budget_multiple"])
    muon = board.loc["muon"]
    assert muon["data_speedup_kind"].tolist() == ["lower_bound", "lower_bound"]  # below every AdamW loss
    assert muon["data_speedup"].tolist() == [2.0, 1.0]  # D_max / D: "> 2.00x", "> 1.00x", never 8.70
    assert (muon[["data_speedup_lo", "data_speedup_hi"]].fillna(0) <= 2.0).all().all()
    claim = Claim(quote="1.4x over AdamW", factor=1.4, metric="data", baseline="adamw", setting="LM", source="x")
    judged = judge_board(board.reset_index(), "muon", [claim])
    assert judged.loc[judged["budget_multiple"] == 0.08, "verdict"].item() != "supported"  # "> 1.00x" is no support


def test_the_baseline_is_exactly_one_against_itself_from_stored_rows(tmp_path):
    """The review's case: AdamW read 1.25x against itself (its speedup came off its own fit's residuals)."""
    rng, rows = np.random.default_rng(5), []
    for m in (0.02, 0.04, 0.08):
        for seed in (1, 2, 3):
            rows.append(_row(method="adamw", budget_multiple=m, budget_tokens=int(2e6 * m), seed=seed,
                             final_val_loss=4.0 - 0.3 * math.log2(m / 0.02) + rng.normal(0, 0.05)))
    board = leaderboard(_stored(tmp_path, rows), "adamw")
    assert board["data_speedup"].tolist() == [1.0, 1.0, 1.0]
    assert set(board["data_speedup_text"]) == {"1.00x (baseline)"}


def test_flags_travel_with_the_numbers(tmp_path):
    from harness.contracts.interface import LogUniform

    stuck = dict(method="ff", chance_loss=math.log(10), hparams_json='{"lr": 0.00999}', budget_multiple=0.5)
    learnt = dict(method="bp", chance_loss=math.log(10), hparams_json='{"lr": 0.001}')
    rows = _stored(tmp_path, [_row(**stuck, seed=1, final_val_loss=2.30), _row(**stuck, seed=2, final_val_loss=2.301),
                         _row(**learnt, seed=1, final_val_loss=0.3), _row(**learnt, seed=2, final_val_loss=0.31),
                         _row(**learnt, seed=1, final_val_loss=0.3, budget_multiple=2.0),
                         _row(**learnt, seed=2, final_val_loss=0.3, budget_multiple=2.0, status="diverged")])
    space = {"lr": LogUniform(1e-4, 1e-2)}
    board = leaderboard(rows, "bp", spaces={"ff": space, "bp": space}).set_index(["method", "budget_multiple"])
    assume = "tuning noise assumed"  # one tuning study each: the between-study term is an assumption
    assert board.loc[("ff", 0.5), "flags"] == f"did not learn, under-trained regime, possibly undertuned, {assume}"
    assert board.loc[("bp", 1.0), "flags"] == assume and board.loc[("bp", 2.0), "flags"] == f"single seed, {assume}"

def test_the_search_space_travels_with_the_rows_so_report_needs_no_torch(tmp_path):
    """Rows record their study's search space (``search_space_json``): the "possibly undertuned" flag reads it,
    so ``harness report`` on such rows never imports the method files (and torch)."""
    import subprocess
    import sys

    from harness.contracts.interface import Choice, LogUniform, Uniform, space_from_json, space_json

    space = {"lr": LogUniform(1e-4, 1e-2), "beta": Uniform(0.0, 1.0), "ns": Choice((3, 5))}
    assert space_from_json(space_json(space)) == space
    from tests.fake_results import write_fake_results

    write_fake_results(tmp_path)
    code = ("import sys; from harness import report, store; rows, _ = store.read_results(sys.argv[1]); "
            "board = report.board(rows, 'adamw'); assert len(board) and 'torch' not in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith(('torch', 'implementations')))[:5]")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_measurable_range_and_the_absolute_metric_come_with_every_row(tmp_path):
    rows = [_row(method=m, budget_multiple=b, budget_tokens=int(1e6 * b), seed=s, final_val_loss=3.0 / b + 0.01 * s,
                 final_val_metric=0.5 + 0.1 * b + 0.01 * s)
            for m, budgets in (("adamw", (0.5, 1.0, 2.0)), ("muon", (1.0,))) for b in budgets for s in (1, 2, 3)]
    board = leaderboard(_stored(tmp_path, rows), "adamw").set_index(["method", "budget_multiple"])
    assert (board.loc[("muon", 1.0), "speedup_range_lo"], board.loc[("muon", 1.0), "speedup_range_hi"]) == (0.5, 2.0)
    assert board.loc[("adamw", 2.0), "speedup_range_lo"] == 0.25
    metric = board.loc[("muon", 1.0), ["metric", "metric_lo", "metric_hi"]].to_numpy(float)
    half = stats.t.ppf(0.975, 2) * 0.01 * (1 / 3 + 1) ** 0.5  # seeds' variance / 3, and one study's tuning noise
    assert metric == pytest.approx([0.62, 0.62 - half, 0.62 + half])


def test_a_single_baseline_budget_says_why_there_is_no_speedup():
    base = pd.DataFrame({"budget": [1.0, 1.0], "loss": [2.0, 2.1]})
    out = speedup_table(base, base.assign(loss=[1.9, 1.95]))
    assert out["kind"].tolist() == ["none"] and out["text"].tolist() == ["n/a (the baseline ran at one budget)"]
