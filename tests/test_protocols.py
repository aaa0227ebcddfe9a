"""Tuning protocols: coordinate descent finds the grid optimum within an equal trial cap and resumes
identically; the grid protocol runs the exact factorial; bad protocol keys are one line and exit 2."""

from __future__ import annotations

import itertools
import json
import shutil
import threading

import numpy as np
import pandas as pd
import pytest

from harness import config, store
from harness.cli import main
from harness.contracts.interface import Choice, LogUniform, Uniform
from harness.run import protocols, studies
from harness.run.executors import run_suite
from harness.run.options import Options
from harness.run.protocols import coordinate_descent as cd
from harness.run.protocols import grid
from tests import protocol_runners

SUITE = """methods: [adamw, sgd]
baseline: adamw
workloads:
  quadratic: {scales: [tiny], budgets: [1]}
tuning: {protocol: coordinate_descent, trials: 60, seeds: 1, grid_points: 4}
train: {codecarbon: false, evals: 1, warmup_steps: 1}
"""
FAKE = Options(runner="tests.protocol_runners:run")


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "cd.yaml"
    path.write_text(SUITE)
    return path


def load(suite, tmp_path, *args):
    return config.load([f"suite={suite}", f"results={tmp_path / 'results'}", *args])


def grid_optimum(cfg, method: str) -> dict:
    """Brute force over the whole factorial grid of the method's search space, its default values included."""
    space = studies.search_space(studies.parts(cfg, method), ["method"])
    defaults = studies.parts(cfg, method)["method"].defaults
    grids = {k: [defaults[k], *cd.grid_values(d, cfg.tuning.grid_points)] for k, d in space.items()}
    cells = [dict(zip(grids, c)) for c in itertools.product(*grids.values())]
    return min(cells, key=protocol_runners.loss)


def missing(spec, rows: pd.DataFrame) -> list:
    return protocols.missing(protocols.get(spec.tuning.protocol), spec, studies.expand(spec), rows)


def tune_rows(cfg) -> pd.DataFrame:
    rows, problems = store.read_results(cfg.results, cfg.name)
    assert problems == []
    return rows


# --------------------------------------------------------------------------- coordinate descent


def test_star_changes_one_hyperparameter_at_a_time_nearest_first():
    space = {"a": LogUniform(1e-3, 1.0), "b": Uniform(0.0, 1.0), "c": Choice(("x", "y"))}
    assert cd.grid_values(space["a"], 4) == [0.001, 0.01, 0.1, 1.0]
    star = cd.star({"a": 0.01, "b": 0.0, "c": "x"}, space, 4)
    assert star[0] == {"a": 0.01, "b": 0.0, "c": "x"} and len(star) == 1 + 3 + 3 + 1
    assert all(sum(s[k] != star[0][k] for k in space) == 1 for s in star[1:])
    assert star[1:4] == [{"a": 0.001, "b": 0.0, "c": "x"}, {"a": 0.01, "b": pytest.approx(1 / 3), "c": "x"},
                         {"a": 0.01, "b": 0.0, "c": "y"}]  # interleaved, nearest grid value first


def test_descend_reaches_the_per_coordinate_optimum_of_an_analytic_objective():
    space = {"lr": LogUniform(1e-4, 1.0), "momentum": Uniform(0.0, 0.9), "nesterov": Choice((True, False))}
    start, stored, rounds = {"lr": 1.0, "momentum": 0.0, "nesterov": True}, {}, 0
    while proposed := cd.descend(start, space, 5, 100, lambda c: stored.get(cd._key(c)))[0]:
        rounds += 1
        stored.update({cd._key(c): protocol_runners.loss(c) for c in proposed})
    ran = cd.descend(start, space, 5, 100, lambda c: stored.get(cd._key(c)))[1]
    assert {cd._key(c) for c in ran} == set(stored)  # every configuration it ran, and only those
    best = min(stored, key=stored.get)
    assert best == cd._key({"lr": 0.01, "momentum": 0.9, "nesterov": False})
    assert rounds >= 3 and len(stored) < 5 * 5 * 2  # several moves, fewer trials than the full grid


def test_suite_finds_the_grid_optimum_with_an_equal_cap(suite, tmp_path):
    cfg = load(suite, tmp_path)
    outcome = run_suite(cfg, show=False, opts=FAKE)
    rows = tune_rows(cfg)
    tune = rows[rows["phase"] == "tune"]
    assert set(tune["tuning_protocol"]) == {"coordinate_descent"} and set(tune["tuning_trials"]) == {60}
    best = protocols.best_hparams(rows)
    for method in ("adamw", "sgd"):
        study = tune[tune["method"] == method]
        assert 1 < len(study) <= 60
        assert best[study["study_id"].iloc[0]] == grid_optimum(cfg, method)
    final = rows[rows["phase"] == "final"]
    assert len(final) == 2 and outcome["incomplete_studies"] == 0
    assert missing(cfg, rows) == []  # converged: nothing more to propose


def test_budget_is_the_same_cap_for_methods_with_more_hyperparameters(suite, tmp_path):
    cfg = load(suite, tmp_path, "tuning.trials=6")  # a first round alone needs 1 + 3*3 (adamw), 1 + 3*3 + 1 (sgd)
    run_suite(cfg, show=False, opts=FAKE)
    tune = tune_rows(cfg).query("phase == 'tune'")
    assert tune.groupby("method").size().to_dict() == {"adamw": 6, "sgd": 6}
    sgd = [json.loads(h) for h in tune[tune["method"] == "sgd"]["hparams_json"]]
    assert len({cd._key(h) for h in sgd}) == 6
    # the truncated round still touched every hyperparameter of sgd once (interleaved)
    defaults = studies.parts(cfg, "sgd")["method"].defaults
    changed = {k for h in sgd for k, v in h.items() if v != defaults[k]}
    assert changed == {"lr", "momentum", "nesterov", "weight_decay"}


def test_killed_run_resumes_to_the_same_trials(suite, tmp_path):
    full = load(suite, tmp_path / "a", "tuning.trials=20")
    run_suite(full, show=False, opts=FAKE)
    done = tune_rows(full).sort_values("started_at")
    for cut in (1, 13):  # mid-round (the first round has 11 trials) and in the second round
        part = load(suite, tmp_path / f"b{cut}", "tuning.trials=20")
        folder = tmp_path / f"b{cut}" / "results" / f"suite={part.name}"
        folder.mkdir(parents=True)
        kept = done[done["phase"] == "tune"]["trial_id"].iloc[:cut]
        for tid in kept:
            shutil.copy(store.trial_path(full.results, full.name, tid), folder)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        rows, _ = store.read_results(part.results, part.name)
        assert [t.trial_id for t in missing(part, rows)] == [
            t.trial_id for t in missing(part, rows)]  # a pure function of the stored rows
        outcome = run_suite(part, show=False, opts=FAKE)
        assert set(tune_rows(part)["trial_id"]) == set(done["trial_id"])
        assert outcome["ran"] == len(done) - cut
        assert all((folder / n).read_bytes() == b for n, b in before.items())  # stored trials not rerun


def test_two_shards_run_the_rounds_in_lockstep(suite, tmp_path):
    alone = load(suite, tmp_path / "alone", "tuning.trials=20")
    run_suite(alone, show=False, opts=FAKE)
    shared = load(suite, tmp_path / "shared", "tuning.trials=20")
    outcomes = {}

    def shard(i: int) -> None:
        opts = Options(runner=FAKE.runner, shard=(i, 2), poll_s=0.5)
        outcomes[i] = run_suite(shared, show=False, opts=opts)

    threads = [threading.Thread(target=shard, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(tune_rows(shared)["trial_id"]) == set(tune_rows(alone)["trial_id"])
    assert outcomes[0]["ran"] > 0 and outcomes[1]["ran"] > 0
    assert outcomes[0]["ran"] + outcomes[1]["ran"] == len(tune_rows(alone))


def test_real_trainer_on_the_quadratic_workload(suite, tmp_path):
    cfg = load(suite, tmp_path, "method=sgd", "baseline=sgd", "tuning.trials=3", "tuning.grid_points=3")
    run_suite(cfg, show=False)
    rows = tune_rows(cfg)
    tune, final = rows[rows["phase"] == "tune"], rows[rows["phase"] == "final"]
    assert len(tune) == 3 and (tune["status"] == "ok").all() and len(final) == 1
    assert tune["final_val_loss"].notna().all() and set(tune["tuning_protocol"]) == {"coordinate_descent"}
    best = tune.sort_values("final_val_loss").iloc[0]
    assert final["hparams_json"].iloc[0] == best["hparams_json"]


# --------------------------------------------------------------------------- grid


def test_grid_expands_the_exact_factorial(suite, tmp_path):
    cfg = load(suite, tmp_path, "tuning.protocol=grid", "tuning.seeds=2", "tuning.grid.batch_size=[8,32]",
               "tuning.grid.lr={logspace: [-2, 0, 3]}", "hparams.momentum=0.0")
    expanded = studies.expand(cfg)
    trials = grid.PROTOCOL.proposals(cfg, expanded, pd.DataFrame())
    assert len(trials) == 2 * 2 * 3 * 2 and len({t.trial_id for t in trials}) == len(trials)
    for method in ("adamw", "sgd"):
        cells = {(t.batch_size, t.hparams["lr"], t.seed) for t in trials if t.method == method}
        assert cells == set(itertools.product([8, 32], [0.01, 0.1, 1.0], [0, 1]))
    assert {t.phase for t in trials} == {"grid"} and {t.tuning_trials for t in trials} == {6}
    assert all(t.hparams["momentum"] == 0.0 and set(t.hparams) == {"lr", "momentum"} for t in trials)
    assert grid.PROTOCOL.final_trials(cfg, expanded, pd.DataFrame()) == []
    assert np.allclose(grid.grid_axes(cfg)["lr"], np.logspace(-2, 0, 3))


def test_batch_scaling_smoke_prints_edges_and_exponents(tmp_path, capsys):
    code = main(["run", "suite=batch_scaling", "preset=smoke", f"results={tmp_path}", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "30 trials run" in out
    assert "largest stable lr" in out and "exponent [95% CI]" in out and "predicted" in out
    rows = tune_rows(config.load(["suite=batch_scaling", "preset=smoke", f"results={tmp_path}"]))
    assert set(rows["phase"]) == {"grid"} and set(rows["batch_size"]) == {16, 64, 256}
    assert (rows["status"] == "diverged").any() and (rows["status"] == "ok").any()


# --------------------------------------------------------------------------- bad keys


@pytest.mark.parametrize("args, message", [
    (["tuning.protocol=coordinate_desent"], "unknown tuning.protocol 'coordinate_desent' (did you mean"),
    (["tuning.grid_points=1"], "tuning.grid_points must be an integer >= 2"),
    (["tuning.grid.lr=[0.1]"], "tuning.grid is only used with tuning.protocol=grid"),
    (["tuning.protocol=grid"], "tuning.protocol=grid needs tuning.grid"),
    (["tuning.protocol=grid", "tuning.grid.lrr=[0.1]"],
     "tuning.grid.lrr is no hyperparameter of adamw (did you mean 'lr'?)"),
    (["tuning.protocol=grid", "tuning.grid.batch_size=[8,0.5]"], "tuning.grid.batch_size must be positive integers"),
    (["tuning.protocol=grid", "tuning.grid.batch_size={logspace: [1, 2, 3]}"], "batch_size must be a list of"),
    (["tuning.protocol=grid", "tuning.grid.lr=[]"], "tuning.grid.lr must be a non-empty list"),
    (["tuning.protocol=grid", "tuning.grid.lr={logspace: [1, 2]}"], "tuning.grid.lr.logspace must be [lo, hi, n]"),
    (["tuning.protocol=grid", "tuning.grid.lr={geomspace: [1, 2, 3]}"], "must be a list of values or {logspace"),
    (["tuning.protocol=grid", "tuning.grid.lr=[0.1]", "hparams.lr=0.1"], "'lr' is both fixed in hparams"),
    (["tuning.protocol=grid", "tuning.grid.batch_size=[8]", "train.batch_size=8"], "both set"),
    (["tuning.protocol=grid", "tuning.grid=5"], "tuning.grid must be a mapping"),
])
def test_bad_protocol_keys_are_one_line_exit_2(suite, tmp_path, capsys, args, message):
    assert main(["validate", f"suite={suite}", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_studys_best_is_chosen_only_among_its_protocols_proposals(suite, tmp_path):
    """Tuning identity: a run with tuning.trials=8 after one with 4 keeps the study id; the rows of the other
    setting must not count, or a method re-run with more trials picks from more than its baseline."""
    from harness.run.protocols import quasirandom

    four = load(suite, tmp_path, "tuning.protocol=quasirandom", "tuning.trials=4")
    eight = load(suite, tmp_path, "tuning.protocol=quasirandom", "tuning.trials=8")
    studies_4, studies_8 = studies.expand(four), studies.expand(eight)
    assert [s.study_id for s in studies_4] == [s.study_id for s in studies_8]  # the same studies
    mine = quasirandom.PROTOCOL.proposals(four, studies_4, pd.DataFrame())
    other = quasirandom.PROTOCOL.proposals(eight, studies_8, pd.DataFrame())
    assert not {t.trial_id for t in mine} & {t.trial_id for t in other}  # no trial in common
    rows = pd.DataFrame([{"trial_id": t.trial_id, "study_id": t.study_id, "phase": "tune", "status": "ok",
                          "final_val_loss": 2.0 + i / 100, "hparams_json": json.dumps(t.hparams)}
                         for i, t in enumerate(mine)] +
                        [{"trial_id": t.trial_id, "study_id": t.study_id, "phase": "tune", "status": "ok",
                          "final_val_loss": 1.0, "hparams_json": json.dumps(t.hparams)} for t in other])
    finals = quasirandom.PROTOCOL.final_trials(four, studies_4, rows)
    picked = {json.dumps(t.hparams, sort_keys=True) for t in finals}
    assert picked <= {json.dumps(t.hparams, sort_keys=True) for t in mine}  # the 8-trial rows (loss 1.0) ignored
