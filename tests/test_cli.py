"""The command line as a user meets it: errors, a real run, resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from harness import store
from harness.cli import main
from tests.conftest import ROOT

SMOKE = ["suite=optimizers", "preset=smoke", "--quiet", "train.codecarbon=false"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["suite=nope"], "unknown suite 'nope'"),
        (["suite=optimizer"], "did you mean 'optimizers'"),
        (["suite=optimizers", "method=adamx"], "unknown optimizer 'adamx' (did you mean 'adamw'?)"),
        (["suite=optimizers", "tuning.trials=-1"], "tuning.trials must be a positive integer"),
        (["suite=optimizers", "tuning.trails=2"], "unknown key 'tuning.trails' (did you mean 'tuning.trials'?)"),
        (["suite=optimizers", "bogus=1"], "unknown key 'bogus'"),
        (["suite=optimizers", "scale=nanoo"], "did you mean 'nano'"),
        (["suite=optimizers", "preset=smok"], "did you mean 'smoke'"),
        (["suite=optimizers", "notakeyvalue"], "expected key=value"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(cli, tmp_path, args, message):
    r = cli("run", *args, f"results={tmp_path}")
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not any(tmp_path.iterdir())


def test_malformed_yaml_file(cli, tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("include: _defaults.yaml\nmethods: [adamw\nworkloads: {gpt: {scales: [nano]}}\n")
    r = cli("run", f"suite={bad}", f"results={tmp_path / 'out'}")
    assert r.returncode == 2 and "malformed YAML" in r.stderr and "line" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_smoke_run_prints_leaderboard_and_rerun_does_no_training(cli, tmp_path):
    first = cli("run", *SMOKE, f"results={tmp_path}")
    assert first.returncode == 0, first.stderr
    assert "gpt / nano" in first.stdout and "adamw" in first.stdout and "muon" in first.stdout
    rows, problems = store.read_results(tmp_path)
    assert problems == [] and len(rows) == 9 and set(rows["phase"]) == {"tune", "final"}
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")}
    second = cli("run", *SMOKE, f"results={tmp_path}")
    assert second.returncode == 0 and second.stdout.startswith("0 trials run")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")} == mtimes
    report = cli("report", f"results={tmp_path}")
    assert report.returncode == 0 and "adamw" in report.stdout


def test_sigkill_midway_then_rerun_loses_nothing(tmp_path):
    args = [sys.executable, "-m", "harness", "run", *SMOKE, f"results={tmp_path}", "tuning.trials=3"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(tmp_path.rglob("*.parquet"))) < 3 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*.parquet")}
    assert len(before) >= 3
    _, problems = store.read_results(tmp_path)  # a killed writer leaves at most a hidden .tmp file
    assert problems == []
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*.parquet")}
    assert all(after[name] == data for name, data in before.items())  # finished trials untouched
    rows, _ = store.read_results(tmp_path)
    assert len(rows) == len(after) == 3 * 3 + 3 and rows["trial_id"].is_unique


def test_ls_lists_methods_workloads_and_suites(cli):
    r = cli("ls")
    assert r.returncode == 0
    for word in ("adamw", "muon", "cosine", "gpt", "digits", "quadratic", "optimizers"):
        assert word in r.stdout


def test_validate(cli, tmp_path):
    r = cli("validate", "suite=optimizers", "preset=cpu")
    assert r.returncode == 0 and "valid" in r.stdout
    from harness import store

    store.write_row(tmp_path, {"trial_id": "x", "suite": "optimizers", "study_id": "another preset's", "seed": 1,
                               "phase": "final", "method": "adamw", "status": "ok", "final_val_loss": 2.0})
    r = cli("validate", "suite=optimizers", "preset=cpu", f"results={tmp_path}")  # stored rows, none of these studies
    assert r.returncode == 0 and "valid" in r.stdout, r.stderr


@pytest.mark.parametrize("suite", __import__("harness.config", fromlist=["x"]).suite_names())
def test_every_suite_and_preset_validates(suite, tmp_path):
    import pandas as pd

    from harness import config
    from harness.run import protocols
    from harness.run.studies import expand
    from tests.test_cifar10 import write_fake

    for preset in [None, *config.preset_names(suite)]:
        args = [f"suite={suite}"] + ([f"preset={preset}"] if preset else [])
        try:
            loaded = config.load(args)
        except config.ConfigError as exc:  # a preset on local data (cifar10) says so, then validates with it
            assert "needs data.path" in str(exc), exc
            write_fake(tmp_path, per_file=2)
            loaded = config.load([*args, f"data.path={tmp_path}"])
        if loaded.train.device == "cpu":
            proposed = protocols.get(loaded.tuning.protocol).proposals(loaded, expand(loaded), pd.DataFrame())
            assert proposed, f"{suite}/{preset} expands to no trials"


@pytest.mark.parametrize("typo, words", [
    ("hparams.lrr=0.5", ["unknown key 'hparams.lrr'", "did you mean 'lr'"]),
    ("data.pth=x", ["unknown key 'data.pth'", "did you mean 'data.path'"]),
    ("tuning.trails=3", ["unknown key 'tuning.trails'", "did you mean 'tuning.trials'"]),
    ("workloads.gpt.scale=[nano]", ["unknown key 'workloads.gpt.scale'", "did you mean 'workloads.gpt.scales'"]),
])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_typo_at_any_level_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, typo, words, command):
    assert main([command, *SMOKE, f"results={tmp_path / 'out'}", typo]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err
    assert not (tmp_path / "out").exists()


def test_the_defaults_file_is_the_specification():
    """``suites/_defaults.yaml`` lists every key of ``harness.spec.RunSpec`` with its default (generated)."""
    from harness.config import SUITES
    from harness.spec import defaults_yaml

    regenerate = "python -m harness.spec > suites/_defaults.yaml"
    assert (SUITES / "_defaults.yaml").read_text() == defaults_yaml(), regenerate


@pytest.mark.parametrize("args, words", [
    (["run", "-hx"], ["ignored explicit argument 'x'", "harness run --help"]),  # argparse's usage, once
    (["-hx"], ["ignored explicit argument 'x'"]),
    (["nonesuch"], ["invalid choice: 'nonesuch'"]),
    (["dashboard", "port=99999"], ["port must be a number from 1 to 65535, got '99999'"]),
    (["dashboard", "port=0"], ["from 1 to 65535"]),
    (["dashboard", "port=８５"], ["from 1 to 65535"]),  # digits, but not ASCII ones
    (["dashboard", "results=/nonexistent/results"], ["no results folder at /nonexistent/results"]),
    (["report", "suite=a/../../x"], ["suite=a/../../x: a suite's name"]),
    (["compact", "suite=.."], ["suite=..: a suite's name"]),
])
def test_what_argparse_and_streamlit_used_to_answer_is_one_line(capsys, args, words):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: error: ") and all(w in err for w in words), err


@pytest.mark.parametrize("command, keys", [("report", ["results", "suite"]), ("compact", ["results", "suite"]),
                                           ("dashboard", ["results", "port", "host"])])
def test_every_subcommand_help_lists_its_keys(capsys, command, keys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out.split("keys (key=value):")[1]
    assert [line.split()[0] for line in text.strip().splitlines()] == keys


def test_a_report_is_read_back_only_while_its_rows_and_code_are_unchanged(tmp_path, cli):
    """``harness report`` keeps what it printed (``cli._kept``); a changed results file computes it again."""
    import shutil

    results = tmp_path / "results"
    shutil.copytree(ROOT / "reference" / "suite=multigrid", results / "suite=multigrid")
    first, again = cli("report", f"results={results}"), cli("report", f"results={results}")
    assert first.returncode == again.returncode == 0 and first.stdout == again.stdout and "multigrid" in first.stdout
    shutil.rmtree(results / "suite=multigrid")
    (results / "suite=multigrid").mkdir()
    gone = cli("report", f"results={results}")
    assert gone.returncode == 0 and gone.stdout != first.stdout and "No results" in gone.stdout
