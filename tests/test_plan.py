"""The plan printed before a run: counts, steps, estimated time from cached step times, the progress text."""

import json
from pathlib import Path

import pandas as pd
import pytest

from harness import cli, config, store
from harness.run import plan as planning
from harness.run import protocols
from harness.run.studies import expand


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setattr(planning, "cache_path", lambda: tmp_path / "cache" / "step_times.json")
    return config.load(["suite=optimizers", "preset=smoke", f"results={tmp_path / 'results'}"])


def studies(spec):
    return expand(spec)


def tune_trials(spec):
    return protocols.get(spec.tuning.protocol).proposals(spec, expand(spec), pd.DataFrame())


def make_plan(spec, **kwargs):
    return planning.make_plan(spec, expand(spec), **kwargs)


def ok_row(steps=18, step_ms=10.0):
    return {"status": "ok", "steps": steps, "step_time_ms_p50": step_ms}


def test_counts_studies_trials_and_steps(cfg):
    p = make_plan(cfg)
    assert (p.studies, p.tune, p.final, p.trials, p.stored, p.bound) == (3, 6, 3, 9, 0, False)
    trial = tune_trials(cfg)[0]
    per_trial = -(-trial.budget_tokens // (64 * 16))  # gpt nano: 16 sequences of 64 tokens a step
    assert p.steps == 9 * per_trial
    assert sorted(p.unknown) == ["adamw gpt/nano", "muon gpt/nano", "sgd gpt/nano"]
    assert "estimated wall time: unknown for" in p.text()


def test_estimate_from_cached_step_times(cfg):
    times = {}
    for trial in studies(cfg):
        planning.record(times, planning.step_key(trial, None), ok_row(), 2.0 + 18 * 0.01)
    assert json.loads(planning.cache_path().read_text()) == times  # saved where the next run reads it
    p = make_plan(cfg)
    per_trial = (p.steps / 9 + 1) * 0.01 + 2.0  # (steps + 1 warm-up) x step time + overhead
    assert not p.unknown and p.seconds == pytest.approx(9 * per_trial)
    assert "estimated wall time" in p.text() and "unknown" not in p.text()
    two = make_plan(cfg, parallel=2)  # a pool of 2: the summed time over 2 workers
    assert f"estimated wall time {planning.duration(9 * per_trial / 2)} on 2 workers" in two.text()
    assert planning.Tracker(two).eta() == f"ETA {planning.duration(9 * per_trial / 2)}"


def test_failed_trials_are_not_timed(tmp_path):
    times = {}
    planning.record(times, "k", {"status": "diverged", "steps": 3, "step_time_ms_p50": 1.0}, 1.0, tmp_path / "t.json")
    planning.record(times, "k", {"status": "ok", "steps": 3, "step_time_ms_p50": None}, 1.0, tmp_path / "t.json")
    assert times == {} and planning.load_times(tmp_path / "t.json") == {}
    (tmp_path / "bad.json").write_text("{half")
    assert planning.load_times(tmp_path / "bad.json") == {}


def test_a_resumed_run_counts_stored_trials(cfg):
    for trial in tune_trials(cfg)[:4]:
        _store(cfg, trial, "tune")
    p = make_plan(cfg)
    assert p.stored == 4
    tracker = planning.Tracker(p, path=planning.cache_path())
    trial = tune_trials(cfg)[4]
    tracker.start(trial)
    tracker.finish(trial, ok_row())
    text = tracker.text(trial)
    assert "5/9 trials overall" in text and f"budget {trial.budget_multiple:g}x" in text and "ETA" in text
    assert planning.step_key(trial, None) in planning.load_times()


def test_validate_prints_the_plan(cfg, capsys):
    assert cli.main(["validate", "suite=optimizers", "preset=smoke", f"results={cfg.results}"]) == 0
    out = capsys.readouterr().out
    assert "plan: 3 studies, 6 tuning + 3 final = 9 trials (0 stored)" in out and "training steps" in out


def test_durations_read_like_a_clock():
    assert [planning.duration(s) for s in (4.4, 83, 3725)] == ["4s", "1m23s", "1h02m"]


def _store(cfg, trial, phase, seed=0, trial_id=None):
    store.write_row(cfg.results, {"trial_id": trial_id or trial.trial_id, "suite": cfg.name, "seed": seed,
                                  "study_id": trial.study_id, "phase": phase, "method": trial.method, "status": "ok",
                                  "final_val_loss": 4.0})


def test_nothing_left_to_run_once_every_trial_is_stored(cfg):
    for trial in tune_trials(cfg):
        _store(cfg, trial, "tune")
    for i, study in enumerate(studies(cfg)):
        _store(cfg, study, "final", seed=1, trial_id=f"f{i}")
    p = make_plan(cfg)
    assert p.stored == p.trials == 9 and p.text().endswith("nothing left to run")


def test_extra_seeds_of_one_study_do_not_count_for_another(cfg):
    """``verify`` adds seeds 2..5 to undecided studies: they are not the seeds another study still needs
    (the plan once counted 116 of 132 trials stored where 100 were: its estimate covered half the run)."""
    for trial in tune_trials(cfg):
        _store(cfg, trial, "tune")
    first = studies(cfg)[0]
    for seed in (1, 2, 3):
        _store(cfg, first, "final", seed=seed, trial_id=f"f{seed}")
    p = make_plan(cfg)
    assert (p.trials, p.stored) == (9, 7)  # 6 tuning + the first study's seed 1; seeds 2-3 are beyond K = 1


def test_validate_measure_times_a_few_steps_of_unmeasured_methods(cfg, capsys):
    args = ["validate", "suite=optimizers", "preset=smoke", "method=adamw", f"results={cfg.results}"]
    assert cli.main(args) == 0 and "unknown for adamw gpt/nano" in capsys.readouterr().out
    assert cli.main([*args, "--measure"]) == 0
    out = capsys.readouterr().out
    assert "measuring 1 step time ..." in out and "unknown" not in out and "estimated wall time" in out
    assert not list(Path(cfg.results).rglob("*.parquet"))  # a measurement is not a result


def test_shards_split_the_plan(cfg):
    whole = make_plan(cfg)
    halves = [make_plan(cfg, shard=(i, 2)) for i in range(2)]
    assert sum(h.tune for h in halves) == whole.tune and sum(h.final for h in halves) == whole.final
    assert sum(h.steps for h in halves) == whole.steps


def test_the_eta_follows_the_plan_and_this_runs_pace(cfg, monkeypatch):
    times = {}
    for trial in studies(cfg):
        planning.record(times, planning.step_key(trial, None), ok_row(step_ms=100.0), 2.0 + 18 * 0.1)
    p = make_plan(cfg)
    tracker = planning.Tracker(p, path=planning.cache_path())
    trial = tune_trials(cfg)[0]
    per_trial = p.seconds_of(trial)
    assert p.seconds == pytest.approx(9 * per_trial) and tracker.eta() == f"ETA {planning.duration(p.seconds)}"
    clock = iter([100.0, 100.0 + 2 * per_trial])  # this trial takes twice the plan: the rest will too
    monkeypatch.setattr(planning.time, "monotonic", lambda: next(clock))
    tracker.start(trial)
    tracker.finish(trial, ok_row(step_ms=100.0))
    assert tracker.eta() == f"ETA {planning.duration(2 * 8 * per_trial)}"


def test_step_times_record_their_load_and_quiet_ones_are_preferred(cfg):
    from harness.train.hardware import cores

    n, times = cores(), {}
    trials = studies(cfg)
    for trial in trials:
        key = planning.step_key(trial, None)
        planning.record(times, key, {**ok_row(step_ms=50.0), "load_avg": 3.0 * n}, None)  # a fuzzing run
    assert times[key]["load"] == [[round(3.0 * n, 2), n]]
    loaded = make_plan(cfg)
    assert "measured under load for " in loaded.text() and "adamw gpt/nano" in loaded.text()
    for trial in trials:
        planning.record(times, planning.step_key(trial, None), {**ok_row(step_ms=10.0), "load_avg": 0.5 * n}, None)
        planning.record(times, planning.step_key(trial, None), {**ok_row(step_ms=12.0), "load_avg": 0.5 * n}, None)
    quiet = make_plan(cfg)
    assert quiet.rates[key][:2] == (0.011, 0.0) and "under load" not in quiet.text()  # 50 ms never counts
    older = {k: {"step_s": e["step_s"], "overhead_s": []} for k, e in times.items()}  # before loads were recorded
    assert make_plan(cfg, times=older).rates[key] == (0.012, 0.0, False)


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    planning.record({}, "k", ok_row(), 1.0, blocker / "step_times.json")  # the cache folder is a file


def test_the_count_carries_on_when_verify_adds_a_seed(cfg):
    for trial in tune_trials(cfg):
        _store(cfg, trial, "tune")
    for i, study in enumerate(studies(cfg)):
        _store(cfg, study, "final", seed=1, trial_id=f"f{i}")
    tracker = planning.Tracker(make_plan(cfg), path=planning.cache_path())
    trial = tune_trials(cfg)[0]
    assert "9/9 trials overall" in tracker.text(trial)
    more = config.load(["suite=optimizers", "preset=smoke", f"results={cfg.results}", "tuning.seeds=2"])
    tracker.follow(make_plan(more))  # verify: one more seed of every study
    assert "9/12 trials overall" in tracker.text(trial)
    tracker.finish(trial)
    assert "10/12 trials overall" in tracker.text(trial)


def test_counts_read_in_the_singular_and_plural():
    from harness.errors import counted

    assert [counted(1, "trial"), counted(2, "trial"), counted(1, "study", "studies"), counted(0, "study", "studies")
            ] == ["1 trial", "2 trials", "1 study", "0 studies"]
