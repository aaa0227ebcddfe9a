"""Whatever a user types -- overrides or suite files -- the answer is exit 0, or one line and exit 2.

Property-based (hypothesis) over ``harness.cli.main`` in-process, plus real subprocess checks.
"""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main

QUAD = """include: _defaults.yaml
methods: [adamw, sgd]
workloads:
  quadratic: {scales: [tiny], budgets: [1]}
tuning: {trials: 2, seeds: 1}
"""
KEYS = ["executor", "workers", "shard", "ray.address", "train.kill_after_s", "tuning.trials", "tuning.seeds",
        "tuning.protocol", "tuning.tune", "train.evals", "train.batch_size", "train.device", "train.time_limit_s",
        "kind", "baseline", "methods", "optimizer", "schedule", "workloads", "hparams", "results", "name",
        "method", "workload", "scale", "budget", "preset", "suite", "workloads.quadratic.scales",
        "workloads.quadratic.budgets", "hparams.lr", "data.path", "tuning", "train", "ray", "presets.x",
        "tuning.grid", "tuning.grid.lr", "tuning.grid.batch_size", "tuning.grid_points"]
NASTY = ["", "[", "]", "{", "}", "[1,2]", "{a: 1}", "null", "~", "true", "-1", "0", "1e999", "nan", "-inf", "1/2",
         "0/2", "2/2", "${oops}", "${tuning.trials}", "'", '"', "a,b", ",", "\\", ":", "- x", "*a", "&a x",
         "!!python/x", "\x00", "é", "=", "a=b", "pool", "ray", "local", "1.5", "cuda", "auto", "adamw,", "tiny,tiny"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def quad(tmp_path_factory):
    path = tmp_path_factory.mktemp("suites") / "quad.yaml"
    path.write_text(QUAD)
    return path


def outcome(argv, capsys) -> tuple[int, str]:
    """Exit code and stderr of one in-process CLI call; any exception escaping ``main`` fails the test."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own --help
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("harness: error: "), (argv, err)
    return code, err


@SETTINGS
@given(st.lists(st.text(min_size=0, max_size=25), max_size=4))
def test_any_arguments(quad, capsys, args):
    outcome(["validate", f"suite={quad}", *args], capsys)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(KEYS), st.one_of(st.sampled_from(NASTY), st.text(max_size=12))),
                min_size=1, max_size=3))
def test_known_keys_with_nasty_values(quad, capsys, pairs):
    outcome(["validate", f"suite={quad}", *(f"{k}={v}" for k, v in pairs)], capsys)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8)
    | st.sampled_from(NASTY),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(string.ascii_lowercase, max_size=6), inner,
                                                                max_size=3),
    max_leaves=6,
)
TOP = ["include", "kind", "baseline", "methods", "optimizer", "schedule", "workloads", "hparams", "tuning", "train",
       "executor", "workers", "shard", "ray", "presets", "data", "results", "version", "bogus"]


@SETTINGS
@given(st.dictionaries(st.sampled_from(TOP), values, max_size=4))
def test_suite_files_with_random_structure(tmp_path_factory, capsys, data):
    path = tmp_path_factory.getbasetemp() / "random_suite.yaml"
    base = yaml.safe_load(QUAD)
    path.write_text(yaml.safe_dump({**base, **data}, allow_unicode=True))
    outcome(["validate", f"suite={path}"], capsys)


@SETTINGS
@given(st.text(max_size=80))
def test_suite_files_with_random_text(tmp_path_factory, capsys, text):
    path = tmp_path_factory.getbasetemp() / "random_text.yaml"
    path.write_text(QUAD + text, errors="surrogatepass")
    outcome(["validate", f"suite={path}"], capsys)


@pytest.mark.parametrize(
    "args, message",
    [
        (["executor=pool", "workers=0"], "workers must be a positive integer"),
        (["executor=threads"], "unknown executor 'threads'"),
        (["shard=3/2"], "0 <= i < n"),
        (["workers=2"], "needs executor=pool or executor=ray"),
        (["threads=0"], "threads must be a positive integer"),
        (["ray.address=auto"], "only used with executor=ray"),
    ],
)
def test_executor_keys(quad, tmp_path, capsys, args, message):
    code, err = outcome(["run", f"suite={quad}", f"results={tmp_path}", *args], capsys)
    assert code == 2 and message in err and not any(tmp_path.iterdir())


@pytest.mark.parametrize("args", [["executor=pool", "workers=two", "shard=1/0"]])
def test_executor_keys_in_a_real_process(cli, quad, tmp_path, args):
    r = cli("run", f"suite={quad}", f"results={tmp_path}", *args)
    assert r.returncode == 2 and r.stderr.startswith("harness: error: ") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not any(tmp_path.iterdir())


def test_corrupt_results_file_is_reported_with_its_path_and_skipped(tmp_path, capsys):
    from harness import store

    store.write_row(tmp_path, {"trial_id": "a", "suite": "s", "study_id": "st", "phase": "tune", "method": "adamw",
                               "seed": 0, "status": "ok", "final_val_loss": 1.0})
    bad = tmp_path / "suite=s" / "b.parquet"
    bad.write_bytes(b"PAR1 truncated")
    assert main(["report", f"results={tmp_path}"]) == 0
    err = capsys.readouterr().err
    assert str(bad) in err and "skipped" in err


def test_variants_in_a_suite_are_one_study_however_spelled_and_record_their_values():
    import pandas as pd

    from harness import config
    from harness.run.protocols import quasirandom
    from harness.run.studies import expand

    def tune_trials(spec):
        return quasirandom.PROTOCOL.proposals(spec, expand(spec), pd.DataFrame())

    args = ["suite=sparsity", "preset=smoke"]
    a = config.load([*args, "method=backprop,nm_sparsity(sr_lambda=0.001, recipe=sr_ste)"])
    b = config.load([*args, "method=nm_sparsity(recipe=sr_ste,sr_lambda=1e-3)"])
    assert list(a.methods) == ["backprop", "nm_sparsity(recipe=sr_ste, sr_lambda=0.001)"]
    ta = [t for t in tune_trials(a) if t.method != "backprop"]
    tb = [t for t in tune_trials(b) if t.method != "backprop"]
    assert [t.trial_id for t in ta] == [t.trial_id for t in tb]
    assert all(t.hparams["recipe"] == "sr_ste" and t.hparams["sr_lambda"] == 1e-3 for t in ta)


def test_a_bad_variant_on_the_command_line_is_one_line_and_exit_2(cli, tmp_path):
    out = cli("run", "suite=sparsity", "preset=smoke", "method=nm_sparsity(recipe=sr_ste", f"results={tmp_path}")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "malformed variant" in out.stderr
    assert not any(tmp_path.iterdir())
