"""Claim verdicts of harness.stats.claims on hand cases (rules at the end of CLAIMS.md)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.contracts.interface import Claim
from harness.stats.claims import judge, judge_board, verdict, verdict_at_most

NAN = math.nan


@pytest.mark.parametrize("lo, hi, expected", [
    (2.1, 2.5, "supported"),        # lo >= 0.9 x 2
    (1.8, 2.0, "supported"),        # exactly 90% of the claim counts
    (1.79, 2.5, "inconclusive"),    # holds less than 90% of the claim and the claim itself
    (1.5, 1.9, "not supported"),    # hi < 2: the claim lies outside the interval
    (0.8, 1.9, "not supported"),
    (0.9, 2.5, "inconclusive"),
    (NAN, NAN, "inconclusive"),     # no interval
    (1.9, NAN, "supported"),        # a lower bound beyond the budgets ("> 1.9x") is enough
    (NAN, 1.5, "not supported"),    # an upper bound below the claim refutes it
    (NAN, 2.5, "inconclusive"),
])
def test_verdict_rules_for_a_2x_claim(lo, hi, expected):
    assert verdict(2.0, lo, hi) == expected


@pytest.mark.parametrize("lo, hi, expected", [
    (1.7, 2.0, "supported"), (0.5, 2.0, "inconclusive"), (-1.0, 1.0, "not supported"),
    (0.1, 1.79, "not supported"),
])
def test_verdict_rules_for_a_quality_delta(lo, hi, expected):
    assert verdict(1.8, lo, hi, null=0.0) == expected  # "1.80% higher accuracy": supported from 1.62


@pytest.mark.parametrize("lo, hi, expected", [
    (1.0, 1.0, "not supported"),  # no effect, measured exactly (steps to target at 5 evaluations): the margin
    (0.99, 1.2, "inconclusive"),  # alone (0.9 x 1.04 = 0.936) once called this "supported"
    (1.0, 1.2, "inconclusive"),  # must clear 1: "no speedup" is not a small one
    (1.01, 1.2, "supported"),
])
def test_a_small_claimed_factor_needs_an_interval_that_clears_no_effect(lo, hi, expected):
    assert verdict(1.04, lo, hi) == expected  # NoLoCo: "up to 4% faster convergence"


def test_verdict_at_most_for_cost_claims():
    assert verdict_at_most(1.1, 1.02, 1.08) == "supported"
    assert verdict_at_most(1.1, 1.15, 1.3) == "not supported"
    assert verdict_at_most(1.1, 1.05, 1.2) == "inconclusive"


SOAP_TIME = Claim(quote="wall clock time by over 35%", factor=1.35, metric="time", baseline="adamw",
                  setting="LM 360M/660M", source="SOAP", scale_params=360e6, hardware="gpu")
MUON_DATA = Claim(quote="1.1x for 1.2B", factor=1.1, metric="data", baseline="adamw", setting="LM",
                  source="Fantastic Pretraining Optimizers", scale_params=1.2e9)
ADAHESSIAN = Claim(quote="1.80% higher accuracy", factor=1.8, metric="quality", baseline="adam",
                   setting="ResNet20 CIFAR-10", source="ADAHESSIAN")


def test_judge_refuses_gpu_wall_clock_claims_measured_on_cpu():
    cpu = judge(SOAP_TIME, (1.5, 1.4, 1.6), scale_params=1e6, device="cpu")
    assert cpu["verdict"] == "inconclusive" and cpu["reason"] == "needs a GPU run"
    assert cpu["labels"] == "scaled-down"
    gpu = judge(SOAP_TIME, (1.5, 1.4, 1.6), scale_params=360e6, device="cuda")
    assert gpu["verdict"] == "supported" and gpu["labels"] == ""


def test_judge_steps_and_data_claims_on_cpu_and_labels_scale():
    out = judge(MUON_DATA, (1.05, 0.98, 1.09), scale_params=20e6, device="cpu")
    assert out["verdict"] == "not supported" and out["labels"] == "scaled-down"
    assert judge(MUON_DATA, (1.3, NAN, NAN), 20e6, "cpu")["verdict"] == "inconclusive"


def test_judge_quality_uses_the_delta_rule_and_flags_energy_estimates():
    assert judge(ADAHESSIAN, (1.9, 1.7, 2.1), None, "cpu")["verdict"] == "supported"  # lo >= 0.9 x 1.8
    assert judge(ADAHESSIAN, (1.0, 0.2, 2.1), None, "cpu")["verdict"] == "inconclusive"
    assert judge(ADAHESSIAN, (1.0, -0.3, 1.7), None, "cpu")["verdict"] == "not supported"
    energy = Claim(quote="41% less energy", factor=1.41, metric="energy", baseline="backprop", setting="MLP",
                   source="Beyond Backpropagation")
    out = judge(energy, (1.6, 1.5, 1.7), None, "cpu", energy_quality="estimated")
    assert out["verdict"] == "supported" and out["labels"] == "estimated energy"


def test_verify_judges_every_leaderboard_row_of_the_method():
    board = pd.DataFrame([
        dict(method="muon", workload="gpt", scale="nano", budget_multiple=1.0, params=1e6, device="cpu",
             energy_quality="none", data_speedup=1.2, data_speedup_lo=1.12, data_speedup_hi=1.3),
        dict(method="muon", workload="gpt", scale="nano", budget_multiple=2.0, params=1e6, device="cpu",
             energy_quality="none", data_speedup=1.0, data_speedup_lo=0.9, data_speedup_hi=1.05),
        dict(method="adamw", workload="gpt", scale="nano", budget_multiple=1.0, params=1e6, device="cpu",
             energy_quality="none", data_speedup=1.0, data_speedup_lo=0.99, data_speedup_hi=1.01),
    ])
    out = judge_board(board, "muon", [MUON_DATA, SOAP_TIME])
    assert out["verdict"].tolist() == ["supported", "not supported", "inconclusive", "inconclusive"]
    assert out["reason"].iloc[2] == "needs a GPU run"
    assert set(out["labels"]) == {"scaled-down"}


def test_time_claims_on_simulated_formats_are_not_judged_but_quality_is():
    time_claim = Claim(quote="q", factor=1.5, metric="time", baseline="backprop", setting="", source="")
    quality = Claim(quote="q", factor=0.0, metric="quality", baseline="backprop", setting="", source="")
    row = dict(method="low_precision(activations=fp8_e4m3)", workload="digits", scale="cnn", budget_multiple=0.3,
               params=1e5, device="cpu", energy_quality="estimated", simulated="activations,weights",
               time_ratio=2.0, time_ratio_lo=1.8, time_ratio_hi=2.2,
               metric_delta=0.01, metric_delta_lo=0.005, metric_delta_hi=0.02)
    real = {**row, "method": "real", "simulated": None}
    out = judge_board(pd.DataFrame([row, real]), row["method"], [time_claim, quality])
    assert out["verdict"].tolist() == ["inconclusive", "supported"]
    assert "simulated formats (activations, weights)" in out["reason"].iloc[0]
    assert judge_board(pd.DataFrame([real]), "real", [time_claim])["verdict"].tolist() == ["supported"]


def test_a_nonzero_accuracy_claim_is_not_judged_in_another_unit():
    claim = Claim(quote="q", factor=0.02, metric="quality", baseline="b", setting="", source="")
    base = dict(method="m", workload="w", scale="s", budget_multiple=1.0, params=1e5, device="cpu",
                energy_quality="none", metric_delta=0.03, metric_delta_lo=0.025, metric_delta_hi=0.035)
    out = judge_board(pd.DataFrame([{**base, "metric_name": "accuracy"}, {**base, "metric_name": "bits_per_token"}]),
                 "m", [claim])
    assert out["verdict"].tolist() == ["supported", "inconclusive"]
    assert out["reason"].iloc[1] == "the claim is in accuracy; this workload measures bits_per_token"


def test_an_open_end_judges_only_through_the_end_that_was_measured():
    claim = Claim(quote="q", factor=1.4, metric="data", baseline="adamw", setting="", source="")
    out = judge(claim, (1.66, 1.30, NAN), None, "cpu")  # "> 1.30x" with confidence: at least 90% of 1.4
    assert out["verdict"] == "supported" and out["reason"].startswith("[1.3, open] against 1.4x")
    assert judge(claim, (1.3, 1.2, NAN), None, "cpu")["verdict"] == "inconclusive"  # 1.2 < 1.26, hi unknown
    assert judge(claim, (1.0, NAN, 1.2), None, "cpu")["verdict"] == "not supported"


def test_the_report_writes_an_open_upper_bound_as_open():
    from harness.report import _ci

    assert _ci(2.63, 1.63, NAN, 2) == "2.63 [1.63, open]" and _ci(1.0, 0.5, 1.5, 2) == "1.00 [0.50, 1.50]"


def test_claims_read_as_the_paper_says_them():
    from harness.stats.claims import claimed_text

    assert claimed_text("steps", 1 / 0.6) == "40% fewer steps (1.67x)"
    assert claimed_text("energy", 1 / (1 - 0.41)) == "41% less energy (1.69x)"
    assert claimed_text("data", 1.4) == "1.4x data speedup"
    assert claimed_text("quality", 0.018) == "+1.80 accuracy points"
    assert claimed_text("quality", 0.0) == "at least the baseline's accuracy"
    assert claimed_text("overhead", 2.0) == "at most 2x the baseline's step time"


def _per_budget(verdicts, points, scale="nano", params=1e6):
    return pd.DataFrame([dict(quote="q", baseline="adamw", metric="data", claimed=1.4, workload="gpt", scale=scale,
                              params=params, budget_multiple=b, n_seeds=3, point=p, lo=p - 0.1, hi=p + 0.1,
                              verdict=v, reason="[..]", labels="scaled-down", flags="", bound="", note="")
                         for b, v, p in zip((1.0, 4.0), verdicts, points, strict=True)])


def test_one_verdict_per_claim_and_scale_with_a_sentence():
    from harness.stats.claims import summarize

    mixed = summarize(_per_budget(["supported", "not supported"], [1.45, 1.1])).iloc[0]
    assert mixed["verdict"] == "mixed" and mixed["budgets"] == "1x, 4x" and mixed["n_seeds"] == 3
    assert "holds at 1x, not at 4x: the measured factor falls with budget, 1.45 -> 1.1" in mixed["sentence"]
    same = summarize(_per_budget(["supported", "supported"], [1.5, 1.45])).iloc[0]
    assert same["verdict"] == "supported" and same["sentence"].startswith("Supported: 1.4x data speedup vs adamw")
    assert "1.5 [1.4, 1.6] at 1x; 1.45 [1.35, 1.55] at 4x (3 seeds; scaled-down)" in same["sentence"]
    open_ = summarize(_per_budget(["supported", "inconclusive"], [1.5, 1.3])).iloc[0]
    assert open_["verdict"] == "inconclusive" and "undecided at 4x (supported at 1x)" in open_["sentence"]


def test_the_trend_with_scale_has_an_interval():
    from harness.stats.claims import scale_trend, summarize

    rows = pd.concat([_per_budget(["supported"] * 2, [1.5, 1.5], "nano", 1e6),
                      _per_budget(["supported"] * 2, [1.2, 1.2], "micro", 1e7)])
    trend = scale_trend(summarize(rows)).iloc[0]
    assert trend["per_10x"] == pytest.approx(1.2 / 1.5) and trend["per_10x_lo"] < trend["per_10x"] < trend["per_10x_hi"]
    assert trend["sentence"].startswith("x0.80 per 10x parameters")
