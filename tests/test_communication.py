"""Communication as a leaderboard column and a judged metric (bytes from simulated workers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.contracts.interface import Claim
from harness.report import readable
from harness.stats.analysis import leaderboard
from harness.stats.claims import judge_board
from harness.stats.power_law import PowerLaw

NAN = math.nan
TRUTH = PowerLaw(a=1.2, b=0.4, c=2.0, d0=1.0)


def claim(factor: float) -> Claim:
    return Claim(quote="less bandwidth", factor=factor, metric="communication", baseline="data_parallel",
                 setting="test", source="test", suite="low_communication")


def _rows(bytes_per_budget: dict, efficiency: dict, simulated: str | None = "communication") -> pd.DataFrame:
    """Final rows at budgets 1, 2, 4, 8: loss = L(k·D) + noise, bytes = bytes_per_budget x D."""
    rng, rows = np.random.default_rng(0), []
    for method, k in efficiency.items():
        for m in (1.0, 2.0, 4.0, 8.0):
            for seed in range(3):
                rows.append(dict(suite="low_communication", workload="digits", scale="mlp", params=1000,
                                 budget_multiple=m, budget_tokens=int(1e6 * m), phase="final", status="ok",
                                 device="cpu", energy_method="none", final_val_metric=NAN, reached_target=True,
                                 step_time_ms_p50=10.0, peak_mem_bytes=100, method=method, seed=seed,
                                 steps_to_target=NAN, time_to_target_s=NAN, energy_to_target_j=NAN,
                                 final_val_loss=TRUTH.loss(k * m) + rng.normal(0, 1e-4),
                                 bytes_communicated=int(bytes_per_budget[method] * m), simulated=simulated))
    return pd.DataFrame(rows)


def test_leaderboard_bytes_ratio_at_equal_budget_and_at_equal_loss():
    # the method sends 200x fewer bytes but learns as if it had half the data: at equal loss the
    # baseline needs only half its budget, so half its bytes: 100x
    df = _rows({"data_parallel": 4000, "streaming_diloco": 20}, {"data_parallel": 1.0, "streaming_diloco": 0.5})
    board = leaderboard(df, baseline="data_parallel").set_index(["method", "budget_multiple"])
    sd, dp = board.loc["streaming_diloco"], board.loc["data_parallel"]
    assert sd["bytes_communicated"].tolist() == [20.0, 40.0, 80.0, 160.0]
    assert sd["comm_ratio"].tolist() == pytest.approx([200.0] * 4)  # the same bytes in every seed: a point interval
    assert sd["comm_ratio_lo"].tolist() == pytest.approx([200.0] * 4)
    assert sd["comm_ratio_hi"].tolist() == pytest.approx([200.0] * 4)
    assert sd["data_speedup_kind"].iloc[0] == "upper_bound"  # 0.5 x the smallest budget: only "< 1.00x"
    assert sd["data_speedup"].iloc[1:].to_numpy() == pytest.approx(0.5, rel=0.01)
    assert sd["comm_ratio_at_loss"].iloc[1:].to_numpy() == pytest.approx(100.0, rel=0.01)
    assert np.allclose(sd["comm_ratio_at_loss_lo"], 200 * sd["data_speedup_lo"], equal_nan=True)
    assert np.allclose(sd["comm_ratio_at_loss_hi"], 200 * sd["data_speedup_hi"], equal_nan=True)
    assert dp["comm_ratio"].tolist() == [1.0] * 4 and board["communication_simulated"].all()


def test_leaderboard_without_bytes_has_no_communication_columns():
    df = _rows({"data_parallel": 4000, "streaming_diloco": 20}, {"data_parallel": 1.0, "streaming_diloco": 0.5})
    board = leaderboard(df.assign(bytes_communicated=None), baseline="data_parallel")
    assert not {"bytes_communicated", "comm_ratio", "comm_ratio_at_loss"} & set(board.columns)


def test_report_shows_bytes_labelled_simulated():
    df = _rows({"data_parallel": 4000, "streaming_diloco": 20}, {"data_parallel": 1.0, "streaming_diloco": 1.0})
    shown = readable(leaderboard(df, baseline="data_parallel"))
    assert "4e+03 (simulated)" in shown["bytes sent"].tolist()
    assert (shown["bytes: baseline ÷ method"] == "200.00 (exact)").sum() == 4  # counted bytes: no interval
    real = readable(leaderboard(df.assign(simulated=None), baseline="data_parallel"))
    assert "4e+03" in real["bytes sent"].tolist()


def _board(**comm):
    return pd.DataFrame([dict(method="streaming_diloco", workload="digits", scale="mlp", budget_multiple=0.1,
                              params=1e4, device="cpu", energy_quality="none", **comm)])


@pytest.mark.parametrize("at_loss, factor, expected", [
    ((120.0, 110.0, 130.0), 100, "supported"),      # lo > 1, hi >= 100
    ((50.0, 40.0, 60.0), 100, "not supported"),     # hi < 100
    ((90.0, 0.8, 140.0), 100, "inconclusive"),      # holds both "no reduction" and the claim
])
def test_communication_claims_follow_the_verdict_rules_on_the_equal_loss_ratio(at_loss, factor, expected):
    board = _board(comm_ratio=200.0, comm_ratio_lo=200.0, comm_ratio_hi=200.0, communication_simulated=True,
                   **dict(zip(("comm_ratio_at_loss", "comm_ratio_at_loss_lo", "comm_ratio_at_loss_hi"), at_loss)))
    out = judge_board(board, "streaming_diloco", [claim(factor)])
    assert out["verdict"].tolist() == [expected] and out["point"].tolist() == [at_loss[0]]
    assert out["labels"].tolist() == ["simulated communication"]


def test_communication_claims_fall_back_to_the_equal_budget_ratio_with_a_label():
    board = _board(comm_ratio=109.3, comm_ratio_lo=109.3, comm_ratio_hi=109.3, comm_ratio_at_loss=NAN,
                   comm_ratio_at_loss_lo=NAN, comm_ratio_at_loss_hi=NAN, communication_simulated=False)
    out = judge_board(board, "streaming_diloco", [claim(100)]).iloc[0]
    assert (out["verdict"], out["point"]) == ("supported", 109.3)
    assert out["labels"] == "equal budget, loss not matched"
    none = judge_board(_board(), "streaming_diloco", [claim(100)]).iloc[0]  # no bytes at all
    assert none["verdict"] == "inconclusive" and none["labels"] == ""
