"""Claim verdicts (harness.stats.claims, one rule for the CLI and the dashboard) on hand cases, and regression tests
on the stored reference rows: the zero-width to-target verdicts, the 1.2B Muon claim, the Sophia direction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.contracts.interface import Claim
from harness.stats import engine, wording
from harness.stats.claims import judge, judge_board, summarize, verdict

NAN = math.nan


@pytest.mark.parametrize("lo, hi, expected", [
    (2.1, 2.5, "supported"),        # lo >= 0.9 x 2
    (1.8, 2.0, "supported"),        # exactly 90% of the claim counts
    (1.79, 2.5, "inconclusive"),    # holds less than 90% of the claim and the claim itself
    (1.5, 1.9, "not supported"),    # hi < 2: the claim lies outside the interval
    (NAN, NAN, "inconclusive"),     # no interval
    (1.9, NAN, "supported"),        # a lower bound beyond the budgets ("> 1.9x") is enough
    (NAN, 1.5, "not supported"),    # an upper bound below the claim refutes it
    (NAN, 2.5, "inconclusive"),
])
def test_verdict_rules_for_a_2x_claim(lo, hi, expected):
    assert verdict(2.0, lo, hi) == expected


@pytest.mark.parametrize("lo, hi, expected", [
    (1.0, 1.0, "not supported"),  # measured exactly no effect
    (0.99, 1.2, "inconclusive"), (1.0, 1.2, "inconclusive"),  # "no speedup" is not a small one
    (1.01, 1.2, "supported"),
])
def test_a_small_claimed_factor_needs_an_interval_that_clears_no_effect(lo, hi, expected):
    assert verdict(1.04, lo, hi) == expected  # NoLoCo: "up to 4% faster convergence"


@pytest.mark.parametrize("form, lo, hi, expected", [
    ("better", 0.001, 0.02, "supported"), ("better", -0.001, 0.02, "inconclusive"),
    ("better", -0.02, -0.001, "not supported"),
    ("matches", -0.004, 0.01, "supported"),  # worse by less than the 0.5-point margin: matches
    ("matches", -0.006, 0.01, "inconclusive"), ("matches", -0.03, -0.006, "not supported"),
])
def test_better_is_superiority_and_matches_is_non_inferiority(form, lo, hi, expected):
    assert verdict(0.0, lo, hi, null=0.0, form=form) == expected


def test_a_declared_margin_replaces_the_default_and_cost_claims_are_at_most():
    assert verdict(0.0, -0.008, 0.01, null=0.0, form="matches", margin=0.01) == "supported"
    assert verdict(1.1, 1.02, 1.08, form="at_most") == "supported"
    assert verdict(1.1, 1.15, 1.3, form="at_most") == "not supported"


def _row(**kw) -> pd.Series:
    return pd.Series({"method": "m", "workload": "w", "scale": "s", "budget_multiple": 1.0, "params": 1e6,
                      "device": "cpu", "energy_quality": "none", "n_seeds": 3, "repeats": 1, **kw})


SOAP_TIME = Claim(quote="q", factor=1.35, metric="time", baseline="b", setting="", source="", scale_params=360e6,
                  hardware="gpu")
MUON_12B = Claim(quote="q", factor=1.1, metric="data", baseline="b", setting="", source="", scale_params=1.2e9)


def test_a_gpu_wall_clock_claim_needs_a_gpu_run_and_a_run_at_its_scale():
    cpu = judge(SOAP_TIME, _row(time_ratio=1.5, time_ratio_lo=1.4, time_ratio_hi=1.6))
    assert cpu["verdict"] == "inconclusive (scaled-down)" and cpu["reason"] == "needs a GPU run"
    gpu = judge(SOAP_TIME, _row(device="cuda", params=360e6, time_ratio=1.5, time_ratio_lo=1.4, time_ratio_hi=1.6))
    assert gpu["verdict"] == "supported" and gpu["labels"] == ""


def test_a_run_far_from_the_claims_size_is_evidence_never_a_verdict():
    row = _row(data_speedup=1.5, data_speedup_lo=1.3, data_speedup_hi=1.7)
    assert judge(MUON_12B, row)["verdict"] == "evidence for (scaled-down)"
    near = _row(params=7e8, data_speedup=1.5, data_speedup_lo=1.3, data_speedup_hi=1.7)  # within 2x of 1.2e9
    assert judge(MUON_12B, near)["verdict"] == "supported"
    against = judge(MUON_12B, _row(data_speedup=0.9, data_speedup_lo=0.8, data_speedup_hi=1.0))
    assert against["verdict"] == "evidence against (scaled-down)" and "scaled-down" in against["labels"]


def test_a_data_claim_is_judged_directly_where_the_baseline_ran_at_the_claimed_budgets():
    claim = Claim(quote="q", factor=1.4, metric="data", baseline="b", setting="", source="")
    board = pd.DataFrame([
        dict(method="m", budget_multiple=1.0, n_seeds=3, loss=2.00, loss_var=1e-4, repeats=1),
        dict(method="b", budget_multiple=1.26, n_seeds=3, loss=2.10, loss_var=1e-4, repeats=1),
        dict(method="b", budget_multiple=1.4, n_seeds=3, loss=2.05, loss_var=1e-4, repeats=1),
    ]).assign(suite="s", workload="w", scale="s")
    from harness.stats.claims import baseline_cells

    row = _row(suite="s", loss=2.00, loss_var=1e-4, data_speedup=1.0, data_speedup_lo=0.9, data_speedup_hi=1.1)
    out = judge(claim, row, baseline_cells(board, "b"))
    assert out["basis"] == "direct" and out["verdict"] == "supported"  # below the baseline at 1.26x and 1.4x
    worse = judge(claim, row.copy().replace({2.00: 2.2}), baseline_cells(board, "b"))
    assert worse["verdict"] == "not supported"  # above the baseline at c·D: the claim fails
    alone = judge(claim, row, {})  # no direct budgets: the interpolated interval (0.9-1.1x vs 1.4x) decides nothing
    assert alone["basis"] == "interpolated" and alone["verdict"] == "inconclusive"
    assert "the interval alone: not supported" in alone["reason"]


def test_claims_read_with_their_direction_and_unit():
    assert wording.claimed("steps", 1 / 0.6) == "40% fewer steps (needs 0.60x the baseline's)"
    assert wording.claimed("data", 1.4) == "1.40x data speedup (needs 0.71x the baseline's data)"
    assert wording.claimed("quality", 0.018) == "+1.80 accuracy points"
    assert wording.claimed("quality", 0.0) == "better accuracy than the baseline"
    assert wording.claimed("quality", 0.0, "matches") == "matches or beats the baseline's accuracy"
    assert wording.claimed("steps", 1.04, "up_to") == "up to 4% fewer steps (needs 0.96x the baseline's)"
    assert wording.points(-0.00001) == "0" and wording.num(-0.0) == "0.00"


def _per_budget(verdicts, points, scale="nano", params=1e6):
    return pd.DataFrame([dict(quote="q", baseline="adamw", metric="data", claimed=1.4, form="better", hardware="cpu",
                              workload="gpt", scale=scale, params=params, claim_params=None, budget_multiple=b,
                              n_seeds=3, point=p, lo=p - 0.1, hi=p + 0.1, verdict=v, basis="interval",
                              confidence=0.95, reason="[..]", labels="", flags="", bound="", note="",
                              method="m", measured=f"{p}x")
                         for b, v, p in zip((1.0, 4.0), verdicts, points, strict=True)])


def test_one_verdict_per_claim_and_scale_with_a_sentence():
    mixed = summarize(_per_budget(["supported", "not supported"], [1.45, 1.1])).iloc[0]
    assert mixed["verdict"] == "mixed" and mixed["budgets"] == "1x, 4x" and mixed["n_seeds"] == 3
    assert "holds at 1x, not at 4x: the measured factor falls with budget, 1.45 -> 1.10" in mixed["sentence"]
    same = summarize(_per_budget(["supported", "supported"], [1.5, 1.45])).iloc[0]
    assert same["verdict"] == "supported" and same["sentence"].startswith("Supported: 1.40x data speedup")
    open_ = summarize(_per_budget(["supported", "inconclusive"], [1.5, 1.3])).iloc[0]
    assert open_["verdict"] == "inconclusive" and "undecided at 4x (supported at 1x)" in open_["sentence"]


def test_the_trend_with_scale_has_an_interval():
    from harness.stats.claims import scale_trend

    rows = pd.concat([_per_budget(["supported"] * 2, [1.5, 1.5], "nano", 1e6),
                      _per_budget(["supported"] * 2, [1.2, 1.2], "micro", 1e7)])
    trend = scale_trend(summarize(rows)).iloc[0]
    assert trend["per_10x"] == pytest.approx(1.2 / 1.5) and trend["per_10x_lo"] < trend["per_10x"] < trend["per_10x_hi"]
    assert trend["sentence"].startswith("ours x0.80 per 10x parameters")
    none = scale_trend(summarize(_per_budget(["supported"] * 2, [1.5, 1.5], "nano", 1e6)))
    assert none.empty and "metric" in none  # one scale: no trend, and still a table to filter (verify's trends)


def test_looks_spend_five_percent_in_all_whatever_their_number():
    one_sided = [(1 - engine.look_confidence(k)) / 2 for k in range(50)]
    assert one_sided[0] == pytest.approx(0.025) and sum(one_sided) < 0.05


# --------------------------------------------------------------------------- the stored reference rows


@pytest.fixture(scope="module")
def reference():
    from harness import store
    from harness.verify import REFERENCE

    rows, problems = store.read_results(REFERENCE)
    assert not problems
    return rows


def _claims(method: str, suite: str):
    from harness.contracts import registry

    return [c for c in registry.get("optimizer" if suite == "optimizers" else "method", method).claims
            if c.suite == suite]


def test_no_reference_verdict_rests_on_a_zero_width_interval(reference):
    """soap vs adamw and vs shampoo, sophia at micro and noloco printed "1 [1, 1]" / "0.5 [0.5, 0.5]" from five
    evaluations; now a crossing before the first evaluation is a bound or unknown, never an exact ratio."""
    for method, suite in (("soap", "optimizers"), ("sophia", "optimizers"), ("noloco", "low_communication")):
        rows = reference[reference["suite"] == suite]
        per_budget, summary = engine.judge(rows, method, _claims(method, suite), start=3)
        closed = summary[np.isfinite(summary["lo"].astype(float)) & np.isfinite(summary["hi"].astype(float))]
        exact = closed[closed["basis"] != "exact"]
        assert not (exact["lo"] == exact["hi"]).any(), exact[["quote", "scale", "lo", "hi"]]


def test_the_12b_muon_claim_is_never_supported_by_a_tiny_model(reference):
    rows = reference[reference["suite"] == "optimizers"]
    _, summary = engine.judge(rows, "muon", _claims("muon", "optimizers"), start=3)
    big = summary[summary["claimed"] == 1.1]
    assert len(big) == 2 and not big["verdict"].isin(["supported", "not supported"]).any()
    assert big["verdict"].str.endswith("(scaled-down)").all()


def test_sophia_needs_more_steps_and_says_so(reference):
    rows = reference[reference["suite"] == "optimizers"]
    _, summary = engine.judge(rows, "sophia", _claims("sophia", "optimizers"), start=3)
    steps = summary[(summary["metric"] == "steps") & (summary["scale"] == "nano")].iloc[0]
    assert "sophia needs > 2.0x adamw's steps" in steps["measured"] or "sophia needs > 2.00x" in steps["measured"]
    assert steps["verdict"] == "evidence against (scaled-down)"


def test_judge_board_scopes_every_row_of_the_method():
    board = pd.DataFrame([
        dict(method="muon", workload="gpt", scale="nano", budget_multiple=1.0, params=1e6, device="cpu",
             n_seeds=3, repeats=1, data_speedup=1.2, data_speedup_lo=1.12, data_speedup_hi=1.3),
        dict(method="muon", workload="gpt", scale="nano", budget_multiple=2.0, params=1e6, device="cpu",
             n_seeds=3, repeats=1, data_speedup=1.0, data_speedup_lo=0.9, data_speedup_hi=1.05),
    ])
    out = judge_board(board, "muon", [MUON_12B, SOAP_TIME])
    assert out["verdict"].tolist() == ["inconclusive (scaled-down)"] * 4  # interpolated only, or needs a GPU
    assert out["basis"].tolist()[:2] == ["interpolated"] * 2
    assert [r.split(" (the interval alone: ")[1].split(";")[0] for r in out["reason"][:2]] == [
        "supported", "not supported"]
