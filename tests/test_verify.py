"""harness verify: baseline budgets designed around the claim, sequential seeds, one verdict per claim and scale
(a runner with a known truth, tests/verify_runner.py, stands in for training)."""

from __future__ import annotations

import io
from functools import partial

import pandas as pd
import pytest

from harness import config, store, verify
from harness.errors import ConfigError
from harness.run import executors
from harness.run.options import Options
from harness.run.studies import expand
from harness.verify import baseline_budgets, design_budgets, verify_suite


def test_baseline_budgets_span_the_claim_with_margin():
    assert baseline_budgets([1.0], [1.4]) == [0.5, 1.0, 2.0, 4.0]  # up to >= 1.5 x 1.4
    assert baseline_budgets([1.0, 2.0], [1.1]) == [0.5, 1.0, 2.0, 4.0]
    assert baseline_budgets([1.0], [0.9, 1.0]) == []  # no speedup claimed: nothing to span


def test_only_the_baseline_runs_the_extra_budgets():
    cfg = config.load(["suite=optimizers", "preset=smoke", "method=adamw,muon"])
    from implementations.optimizers.muon import METHOD

    cfg = design_budgets(cfg, [c for c in METHOD.claims if c.metric == "data"])
    budgets = {(t.method, t.budget_multiple) for t in expand(cfg)}
    assert budgets == {("muon", 0.02), *(("adamw", b) for b in (0.01, 0.02, 0.04, 0.08))}


RUNNER = Options(runner="tests.verify_runner:run")
REST = ["workloads.gpt.scales=[nano,micro]", "workloads.gpt.budgets=[1]", "tuning.trials=2", "tuning.seeds=2",
        "verify.max_seeds=4"]


def _claims():
    from implementations.optimizers.muon import METHOD

    return [c for c in METHOD.claims if c.factor == 1.4]


def test_one_verdict_per_claim_and_scale_from_a_known_truth(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    per_budget, summary = verify_suite("muon", "optimizers", _claims(), [*REST, f"results={tmp_path}"], show=False)
    verdicts = dict(zip(summary["scale"], summary["verdict"], strict=True))
    assert verdicts == {"nano": "supported", "micro": "not supported"}  # the truth: 1.6x and 0.9x
    assert summary["sentence"].str.contains("1.4x data speedup vs adamw on gpt/").all()
    assert set(per_budget["budget_multiple"]) == {1.0}  # the method's budget; the baseline's are planned around it


def test_seeds_are_added_only_where_the_verdict_is_open_and_stop_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    real, looks = verify._judge, []

    def judge(rows, method, mine, look, n_looks):  # nano stays open until 4 seeds (a stand-in for noise)
        per_budget, summary = real(rows, method, mine, look, n_looks)
        looks.append((look, n_looks))
        nano = summary["scale"] == "nano"
        summary.loc[nano, "verdict"] = "inconclusive"
        return per_budget, summary

    monkeypatch.setattr(verify, "_judge", judge)
    verify_suite("muon", "optimizers", _claims(), [*REST, f"results={tmp_path}"], show=False)
    rows = store.read_results(tmp_path)[0]
    seeds = rows[rows["phase"] == "final"].groupby("scale")["seed"].max().to_dict()
    assert seeds == {"nano": 4, "micro": 2}  # 2 -> 4 at nano only; micro was decided at the first look
    assert looks == [(0, 3), (1, 3), (2, 3)]  # Bonferroni levels after the first look (speedup.look_confidence)


def test_stored_results_are_judged_without_running_at_their_last_look(tmp_path, monkeypatch):
    """``harness verify --reference``: the stored rows judged again, nothing run, at the look their seeds reached."""
    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    real, looks = verify._judge, []

    def judge(rows, method, mine, look, n_looks):
        looks.append((look, n_looks))
        return real(rows, method, mine, look, n_looks)

    monkeypatch.setattr(verify, "_judge", judge)
    more = [*REST, "tuning.seeds=3", f"results={tmp_path}"]
    _, ran = verify_suite("muon", "optimizers", _claims(), more, show=False)
    stored = len(store.read_results(tmp_path)[0])
    monkeypatch.setattr(executors, "run_suite", lambda *a, **k: pytest.fail("--reference ran a trial"))
    looks.clear()
    _, judged = verify_suite("muon", "optimizers", _claims(), more, show=False, run=False)
    pd.testing.assert_frame_equal(ran, judged)
    assert looks == [(0, 2)] and len(store.read_results(tmp_path)[0]) == stored


def test_reference_reads_the_shipped_folder_and_says_when_a_suite_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "REFERENCE", tmp_path)
    assert verify.main("muon", [], "markdown", quiet=True, reference=True) == 2
    assert "muon: no reference results for its 'optimizers' claims" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="drop results="):
        verify.main("muon", [f"results={tmp_path}"], "markdown", quiet=True, reference=True)


def test_every_claim_in_one_table_from_stored_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    more = [*REST, f"results={tmp_path}"]
    verify_suite("muon", "optimizers", _claims(), more, show=False)
    monkeypatch.setattr(verify, "REFERENCE", tmp_path)
    monkeypatch.setattr(executors, "run_suite", lambda *a, **k: pytest.fail("--reference ran a trial"))
    assert verify.main("all", REST, "csv", quiet=True, reference=True) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(table["method"]) == {"muon"} and set(table["where"]) == {"gpt/nano", "gpt/micro"}
    claim = table[table["paper"] == "1.4x data speedup"].set_index("where")["verdict"]  # the runner's truth:
    assert claim.to_dict() == {"gpt/nano": "supported", "gpt/micro": "not supported"}  # 1.6x and 0.9x
    with pytest.raises(ConfigError, match="method=all judges stored results only"):
        verify.main("all", REST, "csv", quiet=True)
