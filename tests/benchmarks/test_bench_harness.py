"""Micro-benchmarks of the harness itself: trainer step, tiny trial, store write/read, analysis.

Skipped in the normal run (pyproject sets ``--benchmark-skip``). Run:
    python -m pytest tests/benchmarks --benchmark-only
Each benchmark also checks its result, so a fast but wrong harness fails. The inputs are those of
the asv suite (``benchmarks/asv_bench``): one ``train_step`` and one synthetic results set.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from harness.spec import Trial
from harness.stats.analysis import best_configs, leaderboard
from harness.store import read_results, write_row
from harness.train.trainer import run_trial
from harness.train.workloads import gpt

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from asv_bench.steps import train_step  # noqa: E402
from asv_bench.synthetic import results_rows  # noqa: E402

UNIFORM_LOSS = math.log(256)  # cross-entropy of a byte model that has learned nothing


@pytest.fixture
def one_thread():
    """One intra-op thread while timing (steadier on a shared CPU), restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def results_10k() -> pd.DataFrame:
    return pd.DataFrame(results_rows(10_000))


@pytest.mark.parametrize("scale", ["nano", "micro"])
def test_trainer_step(benchmark, one_thread, scale):
    torch.manual_seed(0)
    step, _ = train_step(gpt.build(scale, 0), "adamw")
    first = float(step())
    step()
    loss = benchmark(step)
    assert first > UNIFORM_LOSS - 0.1 and float(loss) < first  # it trains while being timed


def test_tiny_trial(benchmark, one_thread):
    steps = 20
    units = gpt.SCALES["nano"]["batch"] * gpt.SCALES["nano"]["ctx"]
    trial = Trial(suite="bench", workload="gpt", scale="nano", budget_multiple=0.0, budget_tokens=steps * units,
                  method="adamw", kind="optimizer", optimizer="adamw", schedule="cosine", training_method=None,
                  hparams={}, seed=0, evals=2)
    row = benchmark.pedantic(run_trial, args=(trial,), rounds=3, iterations=1)
    assert row["status"] == "ok", row["error"]
    assert row["steps"] == steps and row["curve_step"] == [10, 20]
    assert row["final_val_loss"] < UNIFORM_LOSS


def test_store_write_row(benchmark, tmp_path):
    row = results_rows(300, final_seeds=2)[0]
    path = benchmark(write_row, tmp_path, row)
    df, problems = read_results(tmp_path)
    assert path.name == f"{row['trial_id']}.parquet" and not problems
    assert df["trial_id"].tolist() == [row["trial_id"]]
    assert df["curve_val_loss"].iloc[0].tolist() == pytest.approx(row["curve_val_loss"])


def test_store_read_results(benchmark, tmp_path):
    rows = results_rows(300, final_seeds=2)
    for row in rows:
        write_row(tmp_path, row)
    df, problems = benchmark(read_results, tmp_path)
    assert not problems and sorted(df["trial_id"]) == sorted(r["trial_id"] for r in rows)
    got = df.set_index("trial_id")["final_val_loss"]
    assert [got[r["trial_id"]] for r in rows] == pytest.approx(
        np.array([r["final_val_loss"] for r in rows], dtype=float), nan_ok=True)


def test_leaderboard(benchmark, results_10k):
    board = benchmark.pedantic(leaderboard, args=(results_10k, "adamw"), rounds=1, iterations=1)
    assert len(board) == 100 and (board["n_seeds"] == 5).all()
    # the synthetic truth: method i trains as if it had 1 + 0.05 i times the tokens
    truth = board["method"].map(lambda m: 1.0 if m == "adamw" else 1 + 0.05 * int(m[-2:]))
    assert np.median(board["data_speedup"] / truth) == pytest.approx(1.0, abs=0.02)


def test_best_configs(benchmark, results_10k):
    best = benchmark(best_configs, results_10k)
    assert len(best) == 100 and (best["phase"] == "tune").all() and (best["status"] == "ok").all()
    # tuning loss is a parabola in log10(lr) around 3e-3: the best of 95 draws lands near it
    assert np.abs(np.log10(best["hp_lr"] / 3e-3)).median() < 0.1
