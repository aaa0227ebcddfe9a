"""Many budgets from one run (``train.branches``): a warmup-stable-decay trunk with a cooldown branch at each smaller
budget gives the same rows as separate runs at those budgets (bit for bit with no warmup), and the suite's studies
at every budget are fed by it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness import config, store
from harness.cli import main
from harness.run import protocols
from harness.run.studies import expand
from harness.spec import Trial, branch_id
from harness.train.trainer import run_trial

TINY = dict(suite="s", workload="quadratic", scale="tiny", method="adamw", kind="optimizer", optimizer="adamw",
            schedule="wsd", training_method=None, hparams={"lr": 0.05, "warmup": 0.0}, seed=3, evals=4,
            codecarbon=False, warmup_steps=1)
EXAMPLES = 32 * 40  # 40 steps of 32 examples


def _trial(multiple: float, **kw) -> Trial:
    return Trial(budget_multiple=multiple, budget_tokens=int(EXAMPLES * multiple), study_id=f"s{multiple:g}",
                 **{**TINY, **kw})


def test_a_branch_is_the_separate_run_of_its_budget_bit_for_bit():
    trunk = replace(_trial(1.0), branches=((0.25, int(EXAMPLES * 0.25), "s0.25"), (0.5, int(EXAMPLES * 0.5), "s0.5")))
    row = run_trial(trunk)
    separate = {m: run_trial(_trial(m)) for m in (0.25, 0.5, 1.0)}
    assert row["final_val_loss"] == separate[1.0]["final_val_loss"]  # the trunk is the run of its own budget
    branches = {b["budget_multiple"]: b for b in row["branches"]}
    for m in (0.25, 0.5):
        mine, theirs = branches[m], separate[m]
        assert mine["final_val_loss"] == theirs["final_val_loss"] and mine["steps"] == theirs["steps"]
        assert mine["trial_id"] == branch_id(trunk.trial_id, m) and mine["parent_trial"] == trunk.trial_id
        assert mine["study_id"] == f"s{m:g}" and mine["curve_step"][-1] == theirs["curve_step"][-1]
        assert mine["train_time_s"] > 0


def test_a_trunk_needs_a_schedule_with_a_decay():
    row = run_trial(replace(_trial(1.0, schedule="cosine"), branches=((0.5, int(EXAMPLES * 0.5), "s0.5"),)))
    assert row["status"] == "error" and "warmup-stable-decay" in row["error"]


SUITE = """methods: [adamw, sgd]
baseline: adamw
schedule: wsd
hparams: {warmup: 0.0}
workloads:
  quadratic: {scales: [tiny], budgets: [0.25, 0.5, 1]}
tuning: {trials: 2, seeds: 2}
train: {evals: 2, warmup_steps: 1, codecarbon: false, branches: true}
"""


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "br.yaml"
    path.write_text(SUITE)
    return path


def test_the_suites_budgets_are_one_trunk_each_and_every_budget_gets_its_rows(suite, tmp_path):
    spec = config.load([f"suite={suite}", f"results={tmp_path / 'out'}"])
    studies = expand(spec)
    proposals = protocols.get("quasirandom").proposals(spec, studies, store.read_results(tmp_path / "none")[0])
    assert len(studies) == 6 and len(proposals) == 2 * 2  # 2 methods x 2 configurations, each one trunk
    assert {len(t.branches) for t in proposals} == {2} and {t.budget_multiple for t in proposals} == {1.0}
    assert main(["run", f"suite={suite}", f"results={tmp_path / 'out'}", "--quiet"]) == 0
    rows, problems = store.read_results(tmp_path / "out")
    assert not problems
    final = rows[rows["phase"] == "final"]
    assert set(final["budget_multiple"]) == {0.25, 0.5, 1.0}  # every budget has its final seeds
    assert final.groupby(["method", "budget_multiple"]).size().eq(2).all()
    assert rows["parent_trial"].notna().sum() == 2 * (2 * 2 + 2 * 2)  # tuning and final trunks, 2 branches each


def test_branches_are_refused_without_a_decay_schedule_or_with_another_protocol(suite, capsys):
    assert main(["validate", f"suite={suite}", "schedule=cosine"]) == 2
    assert "warmup-stable-decay" in capsys.readouterr().err
    assert main(["validate", f"suite={suite}", "tuning.protocol=coordinate_descent"]) == 2
    assert "train.branches needs tuning.protocol=quasirandom" in capsys.readouterr().err
