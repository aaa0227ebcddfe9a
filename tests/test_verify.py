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


def test_baseline_budgets_span_the_claim_with_margin_and_hold_the_direct_comparison():
    assert baseline_budgets([1.0], [1.4]) == [0.5, 1.0, 1.26, 1.4, 2.0]  # a power of 2 up to >= 1.4; 0.9c and c
    assert baseline_budgets([1.0], [2.5]) == [0.5, 1.0, 2.0, 2.25, 2.5, 4.0]
    assert baseline_budgets([1.0, 2.0], [1.1]) == [0.5, 0.99, 1.0, 1.1, 1.98, 2.0, 2.2, 4.0]
    assert baseline_budgets([1.0], [0.9, 1.0]) == []  # no speedup claimed: nothing to span


def test_only_the_baseline_runs_the_extra_budgets():
    cfg = config.load(["suite=optimizers", "preset=smoke", "method=adamw,muon"])
    from implementations.optimizers.muon import METHOD

    cfg = design_budgets(cfg, [c for c in METHOD.claims if c.metric == "data"])
    budgets = {(t.method, t.budget_multiple) for t in expand(cfg)}
    direct = (0.0198, 0.022, 0.0252, 0.028)  # 0.9c·D and c·D for muon's 1.1x and 1.4x claims
    assert budgets == {("muon", 0.02), *(("adamw", b) for b in (0.01, 0.02, 0.04, *direct))}


RUNNER = Options(runner="tests.verify_runner:run")
REST = ["workloads.gpt.scales=[nano,micro]", "workloads.gpt.budgets=[1]", "tuning.trials=2", "tuning.seeds=1",
        "tuning.repeats=3", "verify.max_seeds=5"]  # whole repeated tuning studies: the tuning noise is measured


def _claims():
    from implementations.optimizers.muon import METHOD

    return [c for c in METHOD.claims if c.factor == 1.4]


def test_one_verdict_per_claim_and_scale_from_a_known_truth(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    per_budget, summary = verify_suite("muon", "optimizers", _claims(), [*REST, f"results={tmp_path}"], show=False)
    verdicts = dict(zip(summary["scale"], summary["verdict"], strict=True))  # the runner's models are tiny: the
    assert verdicts == {"nano": "evidence for (scaled-down)", "micro": "evidence against (scaled-down)"}  # 0.1B claim
    assert summary["sentence"].str.contains("1.40x data speedup").all()  # the truth: 1.6x and 0.9x
    assert set(summary["basis"]) == {"direct"}  # the baseline ran at 0.9c·D and c·D
    assert set(per_budget["budget_multiple"]) == {1.0}  # the method's budget; the baseline's are planned around it


def test_seeds_are_added_only_where_the_verdict_is_open_and_stop_at_the_cap(tmp_path, monkeypatch):
    from harness.stats import engine

    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    real = engine.judge

    def judge(rows, method, mine, **kw):  # nano stays open however many seeds (a stand-in for noise)
        per_budget, summary = real(rows, method, mine, **kw)
        summary.loc[summary["scale"] == "nano", "verdict"] = "inconclusive (scaled-down)"
        return per_budget, summary

    monkeypatch.setattr(engine, "judge", judge)
    verify_suite("muon", "optimizers", _claims(), [*REST, f"results={tmp_path}"], show=False)
    rows = store.read_results(tmp_path)[0]
    seeds = rows[rows["phase"] == "final"].groupby("scale")["seed"].max().to_dict()
    assert seeds == {"nano": 5, "micro": 3}  # 3 -> 5 repeated studies at nano only; micro was decided at once
    assert set(rows.loc[rows["phase"] == "final", "tuning_repeats"]) == {3, 4, 5}  # each look's, recorded


def test_stored_results_are_judged_without_running_as_the_run_judged_them(tmp_path, monkeypatch):
    """``harness verify --reference``: the stored rows judged again, nothing run, each verdict at its look."""
    monkeypatch.setattr(executors, "run_suite", partial(executors.run_suite, opts=RUNNER))
    more = [*REST, "tuning.repeats=4", f"results={tmp_path}"]
    _, ran = verify_suite("muon", "optimizers", _claims(), more, show=False)
    stored = len(store.read_results(tmp_path)[0])
    monkeypatch.setattr(executors, "run_suite", lambda *a, **k: pytest.fail("--reference ran a trial"))
    _, judged = verify_suite("muon", "optimizers", _claims(), more, show=False, run=False)
    pd.testing.assert_frame_equal(ran, judged)
    assert set(judged["confidence"]) == {0.95} and len(store.read_results(tmp_path)[0]) == stored


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
    claim = table[table["paper"].str.startswith("1.40x data speedup")].set_index("where")["verdict"]
    assert claim.to_dict() == {"gpt/nano": "evidence for (scaled-down)",  # the runner's truth: 1.6x and 0.9x
                               "gpt/micro": "evidence against (scaled-down)"}
    with pytest.raises(ConfigError, match="method=all judges stored results only"):
        verify.main("all", REST, "csv", quiet=True)


def test_the_reference_table_has_no_zero_width_interval_and_no_bare_verdict_at_another_scale(capsys):
    """`harness verify method=all --reference`: every printed interval has two different ends (or says it is
    exact), and a claim made at a size we did not run is never "supported" or "not supported" outright."""
    import re

    from harness.contracts import catalog

    assert verify.main("all", [], "csv", quiet=True, reference=True) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) > 40
    for text in table["ours"]:
        for lo, hi in re.findall(r"\[([-+0-9.e]+)x?, ([-+0-9.e]+)x?\]", text):
            assert float(lo) != float(hi), text
    from harness.stats.wording import claimed

    sized = {(name, claimed(c.metric, c.factor, c.form)) for _, name, c in catalog.claims() if c.scale_params}
    bare = table[table["verdict"].isin(["supported", "not supported"])]
    assert not {*zip(bare["method"], bare["paper"], strict=True)} & sized
    assert table["verdict"].str.endswith("(scaled-down)").sum() > 10


def test_plan_prints_what_verify_would_run_and_runs_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(executors, "run_suite", lambda *a, **k: pytest.fail("--plan ran a suite"))
    args = ["workload=logreg", "scale=iris", "budget=0.25", f"results={tmp_path / 'out'}"]
    assert verify.main("linear", args, "terminal", quiet=True, plan_only=True) == 0
    out = capsys.readouterr().out
    assert "linear in suite schedules: plan:" in out and "estimated wall time" in out and "unknown" not in out
    assert not (tmp_path / "out").exists()
