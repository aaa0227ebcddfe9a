"""Issue 18: nothing from a suite file runs code or leaks secrets, no traceback on any input, infrastructure
failures retried. Real processes where the exit code, the working directory or a signal matter."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness import config, store
from harness.cli import main
from harness.errors import StoreError
from harness.store.compact import compact
from tests.conftest import ROOT

QUAD = """include: _defaults.yaml
methods: [adamw, sgd]
workloads:
  quadratic: {scales: [tiny], budgets: [1]}
tuning: {trials: 3, seeds: 2}
train: {evals: 2, warmup_steps: 1, codecarbon: false}
"""
EVIL = "import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('yes')\n"


def harness(*args, cwd=ROOT, env=None, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: ") and "Traceback" not in r.stderr, r.stderr
    assert all(w in lines[0] for w in words), (words, lines[0])


# ------------------------------------------------------------------ security


def test_an_environment_variable_never_reaches_a_row(tmp_path, capsys, monkeypatch):
    suite = tmp_path / "leak.yaml"
    suite.write_text(QUAD + 'version: "${oc.env:SPEEDPROOF_SECRET}"\n')
    out = tmp_path / "out"
    r = harness("run", f"suite={suite}", f"results={out}", env={"SPEEDPROOF_SECRET": "hunter2"})
    one_line_error(r, "leak.yaml", "no resolvers")
    assert "hunter2" not in r.stderr + r.stdout and not out.exists()
    r = harness("validate", f"suite={tmp_path / 'leak.yaml'}", "hparams.note=${oc.env:SPEEDPROOF_SECRET}",
                env={"SPEEDPROOF_SECRET": "hunter2"})
    assert r.returncode == 2 and "hunter2" not in r.stderr
    monkeypatch.setenv("SPEEDPROOF_SECRET", "hunter2")
    for shortcut in ("method", "scale", "workload", "budget"):  # in-process: the same main()
        assert main(["validate", f"suite={suite}", f"{shortcut}=${{oc.env:SPEEDPROOF_SECRET}}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no resolvers" in err and "hunter2" not in err


def test_a_suite_file_imports_nothing_and_the_working_directory_is_not_importable(tmp_path):
    (tmp_path / "evil.py").write_text(EVIL + "import torch\nclass Opt(torch.optim.SGD):\n    pass\n")
    suite = tmp_path / "evil.yaml"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw, 'evil:Opt']"))
    one_line_error(harness("validate", f"suite={suite}", cwd=tmp_path), "import path", "command line")
    r = harness("validate", f"suite={suite}", "method=evil:Opt", cwd=tmp_path)  # the user's own choice: allowed,
    one_line_error(r, "cannot import module 'evil'")  # but the working directory is not on the path
    assert not (tmp_path / "IMPORTED").exists()
    assert config.load([f"suite={suite}", "method=adamw,pytorch_optimizer.Lion"]).methods[1] == "pytorch_optimizer.Lion"


def test_results_and_includes_stay_inside_unless_given_on_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "link.yaml").symlink_to("/etc/hostname")  # inside by name, outside when read
    for text, words in [(QUAD + "results: ../../x\n", ["outside the working directory"]),
                        (QUAD + "results: /tmp/elsewhere\n", ["outside the working directory"]),
                        (QUAD.replace("_defaults.yaml", "../../../etc/passwd"), ["outside"]),
                        (QUAD.replace("_defaults.yaml", "/etc/hostname"), ["outside"]),
                        (QUAD.replace("_defaults.yaml", "link.yaml"), ["outside"]),
                        (QUAD + "trian: {evals: 3}\n", ["unknown key 'trian'", "did you mean 'train'"]),
                        (QUAD + "presets: {p: {trian: 1}}\n", ["presets.p", "unknown key 'trian'"])]:
        suite = tmp_path / "sub" / "s.yaml"
        suite.write_text(text)
        assert main(["validate", f"suite={suite}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and all(w in err for w in words), err
    suite.write_text(QUAD + "results: inside/here\n")
    assert config.load([f"suite={suite}"]).results == "inside/here"
    assert config.load([f"suite={suite}", "results=/tmp/elsewhere"]).results == "/tmp/elsewhere"
    assert sorted(os.listdir(tmp_path)) == ["sub"]


def test_a_suite_file_named_like_a_reference_writes_nothing(tmp_path, capsys, monkeypatch):
    """Issue 29: a file named ``t${description}.yaml`` whose description climbs out once wrote its rows outside."""
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work)
    suite = work / "sub" / "t${description}.yaml"
    suite.write_text(QUAD + "description: x/../../../escaped\n")
    assert main(["run", f"suite={suite}", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "letters, digits" in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "t${description}.yaml", "work"]


def test_results_are_never_written_through_a_link_out_of_the_results_folder(tmp_path, capsys, monkeypatch):
    """A ``suite=<name>`` folder that is a symbolic link leading out of the results folder is refused by the store
    (writing, setting aside, compacting), whoever named the results folder."""
    monkeypatch.chdir(tmp_path)
    suite, victim, out = tmp_path / "quad.yaml", tmp_path / "victim", tmp_path / "out"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw]"))
    victim.mkdir()
    out.mkdir()
    (out / "suite=quad").symlink_to(victim)
    assert main(["run", f"suite={suite}", "results=out", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "symbolic link" in err and str(victim) in err, err
    for write in (lambda: store.write_row(out, trial("a", suite="quad")), lambda: store.set_aside(out, "quad"),
                  lambda: compact(out)):
        with pytest.raises(StoreError, match="symbolic link"):
            write()
    assert os.listdir(victim) == []


def test_compact_refuses_a_suite_name_that_climbs_out(tmp_path, capsys):
    """``harness compact 'suite=a/../../../victim'`` merged and removed the Parquet files of another folder."""
    victim, out = tmp_path / "victim", tmp_path / "results"
    (out / "suite=a").mkdir(parents=True)
    for name in ("x", "y"):
        store.write_row(tmp_path, trial(name, suite="victim"))
    moved = tmp_path / "suite=victim"
    moved.rename(victim)
    before = sorted(os.listdir(victim))
    assert main(["compact", f"results={out}", "suite=a/../../victim"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a suite's name" in err, err
    with pytest.raises(StoreError, match="a suite's name"):
        compact(out, "a/../../victim")
    assert sorted(os.listdir(victim)) == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dashboard_stops_serving_on_sigterm(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "dashboard", f"results={tmp_path}", f"port={port}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0  # nobody serves the port any more
    finally:
        proc.kill()


# ------------------------------------------------------------------ one line, exit 2, nothing written


@pytest.mark.parametrize("args, words", [
    (["validate", "suite=optimizers", "data.path=../../etc"], ["data.path=../../etc"]),
    (["run", "suite=optimizers", "preset=smoke", "data.path=/nonexistent"], ["data.path=/nonexistent"]),
    (["validate", "suite=optimizers", "tuning=[a,b]", "tuning.grid.lr=2"], ["cannot parse overrides"]),
    (["run", "suite=optimizers", "preset=smoke", "train.device=gpu"], ["train.device"]),
])
def test_reported_tracebacks_are_one_line_in_a_real_process(tmp_path, args, words):
    r = harness(*args, f"results={tmp_path / 'out'}", cwd=tmp_path)
    one_line_error(r, *words)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args, words", [
    (["preset=smoke", "data.path=1"], ["data.path=1: needs a folder"]),  # a string (OmegaConf reads 1 as "1")
    (["hparams=[1,2]", "hparams.weight_decay=3.5"], ["cannot parse overrides"]),
    (["preset=smoke", "hparams.lr=nan"], ["hparams.lr must be a number"]),
    (["preset=smoke", "hparams.lr=abc"], ["hparams.lr must be a number"]),
    (["preset=smoke", "hparams.weight_decay=-1e309"], ["hparams.weight_decay must be a finite number"]),
    (["preset=smoke", "train.batch_size=1e300"], ["train.batch_size must be an integer"]),  # int64
    (["preset=smoke", "budget=1e300"], ["budgets must be positive multiples", "up to 1e+06"]),  # never ends
    (["preset=smoke", "threads=100000"], ["threads must be a positive integer up to"]),  # can't start new thread
    (["preset=smoke", "executor=pool", "workers=100000"], ["workers must be a positive integer up to"]),
    (["tuning.protocol=grid", "tuning.grid.batch_size=[100000000000000000000]"], ["up to 100000"]),  # int64
    (["tuning.protocol=coordinate_descent", "tuning.grid_points=1000000000"], ["<= 1000"]),  # never ends
])
def test_validate_refuses_what_run_would_fail_on(capsys, args, words):
    assert main(["validate", "suite=optimizers", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err


@pytest.mark.parametrize("text, words", [
    ("a: &x [*x]\n", ["alias refers to itself"]),
    ("l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n"
                                                     for i in range(1, 9)), ["more than 100000 values"]),
    (QUAD.replace("quadratic: {scales: [tiny]", "base: {scales: [x]"), ["unknown workload 'base'"]),
])
def test_suite_files_that_used_to_crash(tmp_path, capsys, text, words):
    suite = tmp_path / "s.yaml"
    suite.write_text(text)
    assert main(["validate", f"suite={suite}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err


def test_unwritable_results_folder_is_one_line_naming_it(tmp_path):
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD)
    blocker = tmp_path / "file"
    blocker.write_text("")
    one_line_error(harness("run", f"suite={suite}", f"results={blocker}", "--quiet"), str(blocker))
    assert sorted(os.listdir(tmp_path)) == ["file", "quad.yaml"]


@pytest.mark.parametrize("command", ["validate", "report", "compact"])
def test_a_results_name_too_long_for_the_file_system_is_one_line(command, capsys):
    long = "a" * 300  # one path component over NAME_MAX (255): stat raises ENAMETOOLONG
    assert main([command, "suite=optimizers", f"results={long}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a usable folder" in err, err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA machine runs train.device=cuda")
def test_cuda_on_a_machine_without_it_is_refused_before_anything_is_written(tmp_path, capsys):
    assert main(["run", "suite=optimizers", "preset=smoke", "train.device=cuda", f"results={tmp_path}"]) == 2
    assert "no CUDA device" in capsys.readouterr().err and os.listdir(tmp_path) == []


def test_full_disk_names_the_path_leaves_no_tmp_and_the_next_run_finishes(tmp_path, capsys, monkeypatch):
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw]"))
    out = tmp_path / "out"
    args = ["run", f"suite={suite}", f"results={out}", "--quiet"]
    real, calls = pq.write_table, []

    def full(table, where, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, where, **kw)

    monkeypatch.setattr(store.pq, "write_table", full)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the plan: the one-line error
    assert err.startswith("harness: error: cannot write ") and str(out) in err and "No space left" in err
    assert len(list(out.rglob("*.parquet"))) == 1 and not list(out.rglob(".*"))  # no .tmp, no lease
    monkeypatch.setattr(store.pq, "write_table", real)
    assert main(args) == 0
    assert len(store.read_results(out)[0]) == 3 + 2


def test_a_full_disk_stops_a_run_before_any_trial_and_a_lease_it_cannot_write_is_removed(tmp_path, capsys,
                                                                                         monkeypatch):
    from harness.run import leases

    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw]"))
    out = tmp_path / "out"
    args = ["run", f"suite={suite}", f"results={out}", "--quiet"]

    class Full:  # a file on a full disk: opening works, writing does not
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(store.tempfile, "TemporaryFile", lambda **kw: Full())
        assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write results to" in err[0] and "No space left" in err[0], err
    assert not out.exists()  # the folder made for the probe is gone again

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(leases.json, "dump", full)  # the probe passed; then the disk filled up
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("harness: error: cannot write ") and ".lease" in err and "No space left" in err, err
    assert not list(out.rglob(".*"))  # no lease, empty or not


# ------------------------------------------------------------------ the store


def test_truncated_and_mistyped_files_are_set_aside_and_their_trials_rerun(tmp_path, capsys):
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw]"))
    out = tmp_path / "out"
    args = ["run", f"suite={suite}", f"results={out}", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    first, second = sorted((out / "suite=quad").glob("*.parquet"))[:2]
    first.write_bytes(first.read_bytes()[:100])  # truncated
    table = pq.read_table(second)
    wrong = table.set_column(table.schema.get_field_index("status"), "status", pa.array([3.5]))
    pq.write_table(wrong, second)  # the right names, a castable wrong type
    rows, problems = store.read_results(out)
    assert len(rows) == 3 and any("column status holds double" in p for p in problems)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"{first} -> {first}.unreadable" in err and f"{second} -> {second}.unreadable" in err
    rows, problems = store.read_results(out)
    assert problems == [] and len(rows) == 5 and set(rows["status"]) == {"ok"}
    assert (first.parent / f"{first.name}.unreadable").exists()  # kept, for whoever wants to look


def trial(trial_id, **values) -> dict:
    """A whole trial's row: its identity, ok, a finite loss (``values`` change or add columns)."""
    return {"trial_id": trial_id, "suite": "s", "study_id": "st", "phase": "tune", "method": "adamw", "seed": 0,
            "status": "ok", "final_val_loss": 1.0, **values}


def test_foreign_values_are_refused_on_read(tmp_path):
    folder = tmp_path / "suite=s"
    folder.mkdir()
    for name, values in (("a", {"trial_id": 7}), ("b", {"status": "fine"}), ("c", {"final_val_loss": 1})):
        pq.write_table(pa.table({k: [v] for k, v in {**trial(name), **values}.items()}), folder / f"{name}.parquet")
    rows, problems = store.read_results(tmp_path)
    assert list(rows["trial_id"]) == ["c"] and rows["final_val_loss"].iloc[0] == 1.0  # an int is a number
    assert "column trial_id holds int64" in problems[0] and "status 'fine'" in problems[1]


def test_memory_error_is_oom_and_every_row_records_its_threads(monkeypatch):
    import torch

    from harness.train import trainer
    from tests.scaleout_runners import fake_trial

    def no_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(trainer, "_train", no_memory)
    row = trainer.run_trial(fake_trial(0))
    assert row["status"] == "oom" and row["error"] == "MemoryError"
    assert row["threads"] == torch.get_num_threads()


# ------------------------------------------------------------------ infrastructure failures


DRIVER = """import sys
from harness import config
from harness.run.executors import run_suite
from harness.run.options import Options
cfg = config.load(sys.argv[1:])
opts = Options.from_spec(cfg)
opts.runner, opts.poll_s = "tests.scaleout_runners:killable", 0.2
sys.exit(1 if run_suite(cfg, show=False, opts=opts)["missing"] else 0)
"""
COMPARED = ["trial_id", "phase", "method", "seed", "hparams_json", "status", "final_val_loss", "curve_val_loss"]


def _table(results):
    rows, problems = store.read_results(results)
    assert problems == [] and rows["trial_id"].is_unique
    return rows[COMPARED].sort_values("trial_id").reset_index(drop=True)


@pytest.mark.slow
def test_workers_killed_twice_on_one_trial_then_the_driver_rerun_equals_an_uninterrupted_run(tmp_path):
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD)
    out, marks = tmp_path / "out", tmp_path / "marks"
    marks.mkdir()
    args = [f"suite={suite}", f"results={out}", "executor=pool", "workers=2", "threads=1"]
    env = {**os.environ, "SPEEDPROOF_KILL_DIR": str(marks), "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "driver.err", "w+")
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, *args], cwd=ROOT, env=env, stderr=log)
    killed, deadline = [], time.time() + 240
    while time.time() < deadline and "not stored" not in (tmp_path / "driver.err").read_text():
        pids = (marks / "pids").read_text().split() if (marks / "pids").exists() else []
        for pid in pids[len(killed):]:  # each attempt of the hanging trial: SIGKILL its worker
            os.kill(int(pid), signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.05)
    target = (marks / "target").read_text()
    assert len(killed) == 2 and not list(out.rglob(f"{target}.parquet"))  # given up, not stored as an error
    workers = psutil.Process(driver.pid).children(recursive=True)
    os.kill(driver.pid, signal.SIGKILL)  # ... and then the driver
    driver.wait()
    psutil.wait_procs(workers, timeout=10)
    assert "worker died 2 times" in (tmp_path / "driver.err").read_text()
    rerun = subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    reference = tmp_path / "reference"
    assert main(["run", f"suite={suite}", f"results={reference}", "threads=1", "--quiet"]) == 0
    got, want = _table(out), _table(reference)
    assert len(want) == 2 * 3 + 2 * 2 and target in set(got["trial_id"])
    assert got.equals(want)  # bitwise: the same trials, the same best configurations, the same losses


def test_a_shard_that_ends_with_trials_missing_says_which_and_how_to_finish(tmp_path, capsys):
    from harness.run.executors import run_suite
    from harness.run.options import Options

    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw]"))
    out = tmp_path / "out"
    for shard in ("0/2", "1/2", "0/2"):  # one after the other: each finds the other's trials missing
        cfg = config.load([f"suite={suite}", f"results={out}", f"shard={shard}"])
        opts = Options.from_spec(cfg)
        opts.poll_s = 0.05
        assert run_suite(cfg, show=False, opts=opts)["missing"] == 0  # nothing of its own is missing: exit 0
        err = capsys.readouterr().err
        if len(store.stored_ids(out, "quad")) < 3 + 2:
            assert " not stored yet (0 of this run, " in err and " of other shards" in err
            assert "rerun the same command on every shard to finish them" in err
    assert len(store.stored_ids(out, "quad")) == 3 + 2 and "not stored" not in err


def test_infrastructure_failures_stored_by_an_older_version_are_set_aside(tmp_path):
    for trial_id, error in (("a", "worker died 2 times, last: killed by signal SIGKILL"),
                            ("b", "killed by the executor after 900s (kill_after_s 900)"),
                            ("c", "RuntimeError: the method raised")):
        store.write_row(tmp_path, trial(trial_id, status="error", error=error, final_val_loss=None))
    store.write_row(tmp_path, trial("d"))
    moved = store.set_aside(tmp_path, "s")
    assert [m.split(" -> ")[0] for m in moved] == [str(tmp_path / "suite=s" / f"{t}.parquet") for t in "ab"]
    assert all("infrastructure failure" in m and m.split(" -> ")[1].split(":")[0].endswith(".infra") for m in moved)
    assert store.stored_ids(tmp_path, "s") == {"c", "d"}  # a method's failure is a result: kept


def test_a_partial_write_of_a_killed_run_is_removed_by_the_next_one(tmp_path):
    folder = tmp_path / "suite=s"
    folder.mkdir()
    old, fresh = folder / ".a.parquet.123.tmp", folder / ".b.parquet.456.tmp"
    old.write_bytes(b"PAR1 half")
    fresh.write_bytes(b"PAR1 being written")
    os.utime(old, (time.time() - 1000, time.time() - 1000))
    assert store.set_aside(tmp_path, "s") == [f"{old} -> removed: the partial write of a killed run"]
    assert not old.exists() and fresh.exists()  # a live writer's file is left alone


def test_a_file_that_is_not_a_trial_is_set_aside_and_its_trial_runs_again(tmp_path, capsys):
    """A file with only ``trial_id`` and ``status: ok`` once counted as a finished trial with a NaN loss; a file
    holding another trial than its name says made every run exit 1 (and named the wrong trial)."""
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD.replace("[adamw, sgd]", "[adamw]"))
    out = tmp_path / "out"
    args = ["run", f"suite={suite}", f"results={out}", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    first, second = sorted((out / "suite=quad").glob("*.parquet"))[:2]
    pq.write_table(pa.table({"trial_id": [first.stem], "status": ["ok"]}), first)
    second.write_bytes(sorted((out / "suite=quad").glob("*.parquet"))[-1].read_bytes())  # another trial's row
    rows, problems = store.read_results(out)
    assert len(rows) == 3 and len(problems) == 2 and "not a whole trial: no suite" in problems[0]
    assert f"not the {second.stem} its name says" in problems[1]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"{first} -> {first}.unreadable: ValueError: not a whole trial" in err
    assert f"{second} -> {second}.unreadable: ValueError: holds trial " in err and second.stem in err
    rows, problems = store.read_results(out)
    assert problems == [] and len(rows) == 5 and rows["final_val_loss"].notna().all()


def test_a_file_of_a_newer_format_is_refused_naming_it(tmp_path, capsys):
    folder = tmp_path / "suite=s"
    store.write_row(tmp_path, trial("a"))
    table = pa.table({k: [v] for k, v in trial("b").items()})
    newer = folder / "b.parquet"
    pq.write_table(table.replace_schema_metadata({b"speedproof.format": b"99"}), newer)
    rows, problems = store.read_results(tmp_path)
    assert list(rows["trial_id"]) == ["a"] and len(problems) == 1
    assert str(newer) in problems[0] and "newer speedproof (store format 99" in problems[0]
    with pytest.raises(StoreError, match=f"{newer}: written by a newer speedproof"):
        store.set_aside(tmp_path, "s")
    warnings = []
    assert compact(tmp_path, warnings=warnings) == {"s": 1} and newer.exists()  # left as it is
    assert any(str(newer) in w and "newer" in w for w in warnings)


def test_the_test_suite_leaves_the_users_home_alone(tmp_path):
    """Caches written at collection or by module fixtures (before any per-test fixture) once landed in
    ~/.cache/speedproof: the whole run keeps them elsewhere (tests/conftest.py ``pytest_configure``)."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "test_probe.py").write_text(
        "import pytest\nfrom harness import cache\n\n"
        "@pytest.fixture(scope='module')\ndef catalog():\n"
        "    return cache.remember('catalog', [], 'k', lambda: 1)\n\n"
        "def test_probe(catalog):\n    assert catalog == 1\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SPEEDPROOF_CACHE", "XDG_CACHE_HOME")}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                        str(tmp_path / "test_probe.py")], cwd=ROOT, env={**env, "HOME": str(home)},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:]
    assert not (home / ".cache" / "speedproof").exists()


def test_a_suite_files_results_through_a_link_out_of_the_working_directory_are_refused(tmp_path, monkeypatch, capsys):
    """The inside check follows links: a suite file's ``results: inside`` where ``inside`` links out is refused;
    the same folder named on the command line is the user's choice."""
    outside, work = tmp_path / "outside", tmp_path / "work"
    outside.mkdir()
    work.mkdir()
    (work / "inside").symlink_to(outside)
    suite = work / "q.yaml"
    suite.write_text(QUAD + "results: inside\n")
    monkeypatch.chdir(work)
    assert main(["validate", f"suite={suite}"]) == 2
    assert "outside the working directory" in capsys.readouterr().err
    assert main(["validate", f"suite={suite}", "results=inside"]) == 0
    assert not list(outside.iterdir())
