"""Scale-out without losing a result: pool and Ray workers that crash or hang, killed drivers, shards,
two runs on one folder. Workers are real processes killed by real signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from harness import store
from harness.run.executors import pending, run_trials
from harness.run.leases import Leases
from harness.run.options import Options, in_shard, parse_shard
from tests.conftest import ROOT
from tests.scaleout_runners import fake_trial

RUNNER = "tests.scaleout_runners:run"


def test_shards_partition_trials_stably():
    ids = [fake_trial(i).trial_id for i in range(300)]
    for n in (1, 2, 3):
        owners = [[i for i in range(n) if in_shard(t, (i, n))] for t in ids]
        assert all(len(o) == 1 for o in owners)  # every trial in exactly one shard
        sizes = [sum(o == [i] for o in owners) for i in range(n)]
        assert min(sizes) > 300 / n * 0.7
    assert parse_shard("1/3") == (1, 3) and parse_shard(None) is None
    # the assignment is a function of the id alone (sha256, not Python's salted hash()): pinned values
    for tid, expected in (("0123456789abcdef", (0, 1, 2)), ("fedcba9876543210", (1, 1, 5))):
        assert [i for n in (2, 3, 7) for i in range(n) if in_shard(tid, (i, n))] == list(expected)
    for bad in ("2/2", "a/b", "1", "-1/2", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_pool_isolates_crashes_retries_once_and_kills_hung_trials(tmp_path, capsys):
    trials = [
        fake_trial(0), fake_trial(1),
        fake_trial(2, "segfault"),                              # dies twice -> infrastructure: not stored
        fake_trial(3, "once", marker=str(tmp_path / "m3")),     # dies, retried, succeeds
        fake_trial(4, "raise"),                                 # an exception is a row, the worker lives
        fake_trial(5, "sleep", seconds=60),                     # hung: killed after kill_after_s, not stored
        fake_trial(6),
    ]
    opts = Options(executor="pool", workers=2, runner=RUNNER, kill_after_s=10, poll_s=0.2)
    ran = run_trials(trials, tmp_path, "t", "run1", show=False, opts=opts)
    assert ran == len(trials) - 2
    rows, problems = store.read_results(tmp_path)
    assert problems == [] and len(rows) == len(trials) - 2 and rows["trial_id"].is_unique
    by = {t.hparams["i"]: rows.set_index("trial_id").loc[t.trial_id] for t in trials if t.hparams["i"] not in (2, 5)}
    assert [by[i]["status"] for i in (0, 1, 3, 4, 6)] == ["ok", "ok", "ok", "error", "ok"]
    assert "RuntimeError: runner failed on purpose" in by[4]["error"]
    assert (tmp_path / "m3").read_text() == "died"
    err = capsys.readouterr().err
    assert "worker died (worker exited with code 5)" in err
    assert f"trial {trials[2].trial_id} not stored (worker died 2 times, last: killed by signal SIGSEGV)" in err
    assert f"trial {trials[5].trial_id} not stored (killed by the executor" in err
    assert pending(trials, tmp_path) == [trials[2], trials[5]]  # the next run retries them
    assert not list(tmp_path.rglob(".*.lease"))  # every lease released


def test_worker_sigkilled_from_outside_is_retried(tmp_path, capsys):
    marker = tmp_path / "pid"
    trials = [fake_trial(0, "hang_once", marker=str(marker)), fake_trial(1)]

    def killer():
        deadline = time.time() + 60
        while not (marker.exists() and marker.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        os.kill(int(marker.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    opts = Options(executor="pool", workers=2, runner=RUNNER, poll_s=0.2)
    run_trials(trials, tmp_path, "t", "run1", show=False, opts=opts)
    thread.join()
    rows, _ = store.read_results(tmp_path)
    assert sorted(rows["status"]) == ["ok", "ok"]
    assert "killed by signal SIGKILL" in capsys.readouterr().err


def test_two_runs_on_one_folder_train_each_trial_once(tmp_path):
    trials = [fake_trial(i, work=0.05) for i in range(16)]
    counts = {}

    def go(run_id):
        counts[run_id] = run_trials(trials, tmp_path, "t", run_id, show=False, opts=Options(runner=RUNNER, poll_s=0.05))

    threads = [threading.Thread(target=go, args=(f"run{k}",)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows, problems = store.read_results(tmp_path)
    assert problems == [] and len(rows) == 16 and rows["trial_id"].is_unique
    assert sum(counts.values()) == 16 and min(counts.values()) > 0  # both worked, no trial twice


def test_stale_lease_of_a_dead_run_is_taken_over_and_live_one_is_respected(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other = Leases(tmp_path, "other")
    assert other.take("fake", "abc")
    mine = Leases(tmp_path, "mine")
    assert not mine.take("fake", "abc") and mine.live_elsewhere("fake", "abc")  # a live run holds it
    path = other.path("fake", "abc")
    path.write_text(path.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {dead.pid}'))  # its owner died
    assert not mine.live_elsewhere("fake", "abc") and mine.take("fake", "abc")
    foreign = other.path("fake", "xyz")
    foreign.write_text('{"host": "elsewhere", "pid": 1, "start": 0, "run_id": "far"}')
    assert not mine.take("fake", "xyz")  # another host, refreshed just now: alive
    os.utime(foreign, (time.time() - 1000, time.time() - 1000))
    assert mine.take("fake", "xyz")  # not refreshed for STALE_S: stale
    empty = other.path("fake", "half")
    empty.write_text("")  # a writer SIGKILLed between O_EXCL create and write (seen in the driver-kill test)
    assert not mine.take("fake", "half") and mine.live_elsewhere("fake", "half")  # maybe still writing
    os.utime(empty, (time.time() - 10, time.time() - 10))
    assert not mine.live_elsewhere("fake", "half") and mine.take("fake", "half")  # HALF_WRITTEN_S later: stale
    mine.close()
    other.close()
    assert not list(tmp_path.rglob(".*"))


def test_pending_skips_stored_and_other_shards(tmp_path):
    trials = [fake_trial(i) for i in range(20)]
    store.write_row(tmp_path, {"trial_id": trials[0].trial_id, "suite": "fake", "status": "ok"})
    left = pending(trials, tmp_path)
    assert len(left) == 19 and trials[0] not in left
    halves = [pending(trials, tmp_path, (i, 2)) for i in range(2)]
    assert sorted(t.trial_id for h in halves for t in h) == sorted(t.trial_id for t in left)


QUAD = """include: _defaults.yaml
methods: [adamw]
workloads:
  quadratic: {scales: [tiny], budgets: [1]}
tuning: {trials: 6, seeds: 2}
train: {evals: 2, warmup_steps: 1}
"""


def test_driver_sigkill_kills_workers_and_rerun_loses_and_duplicates_nothing(tmp_path):
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD)
    out = tmp_path / "results"
    args = [sys.executable, "-m", "harness", "run", f"suite={suite}", f"results={out}", "executor=pool", "workers=2",
            "--quiet"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(out.rglob("*.parquet"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    workers = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert workers and psutil.wait_procs(workers, timeout=10)[1] == []  # orphaned workers exit by themselves
    before = {p.name: p.read_bytes() for p in out.rglob("*.parquet")}
    assert len(before) >= 2 and store.read_results(out)[1] == []
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.read_bytes() for p in out.rglob("*.parquet")}
    assert all(after[name] == data for name, data in before.items())
    rows, problems = store.read_results(out)
    assert problems == [] and len(rows) == 6 + 2 and rows["trial_id"].is_unique
    assert done.stdout.startswith(f"{8 - len(before)} trials run")
    assert not list(out.rglob(".*.lease"))


def test_ray_local_instance_retries_crashed_worker_and_stores_failures(tmp_path, capsys):
    pytest.importorskip("ray")
    trials = [
        fake_trial(0), fake_trial(1),
        fake_trial(2, "once", marker=str(tmp_path / "m2")),  # Ray retries it once: ok
        fake_trial(3, "exit"),                               # dies on both attempts: not stored, retried next run
        fake_trial(4, "raise"),                              # an exception: error row, no retry
    ]
    opts = Options(executor="ray", workers=2, runner=RUNNER, poll_s=0.2)
    assert run_trials(trials, tmp_path, "t", "run1", show=False, opts=opts) == 4
    rows, problems = store.read_results(tmp_path)
    assert problems == [] and rows["trial_id"].is_unique
    by = {t.hparams["i"]: rows.set_index("trial_id").loc[t.trial_id] for t in trials if t.hparams["i"] != 3}
    assert [by[i]["status"] for i in (0, 1, 2, 4)] == ["ok", "ok", "ok", "error"]
    assert (tmp_path / "m2").read_text() == "died"  # the first attempt really died
    assert "RuntimeError" in by[4]["error"] and pending(trials, tmp_path) == [trials[3]]
    assert "WorkerCrashedError" in capsys.readouterr().err


def test_two_driver_processes_on_one_folder(tmp_path):
    suite = tmp_path / "quad.yaml"
    suite.write_text(QUAD)
    out = tmp_path / "results"
    args = [sys.executable, "-m", "harness", "run", f"suite={suite}", f"results={out}", "--quiet"]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    rows, problems = store.read_results(out)
    assert problems == [] and len(rows) == 6 + 2 and rows["trial_id"].is_unique
    ran = [int(re.match(r"(\d+) trials? run", stdout).group(1)) for stdout, _ in outputs]  # "1 trial run"
    assert sum(ran) == 8  # leases: no trial trained by both runs


def test_local_backend_runs_trials_with_the_asked_threads_and_restores_them():
    import torch

    from harness.run.backends import LocalBackend

    before = torch.get_num_threads()
    backend = LocalBackend(threads=1)
    key = backend.submit(None, "r", "tests.test_scaleout:_threads_runner")
    assert backend.poll(0) == [(key, "row", {"threads": 1})]
    backend.close()
    assert torch.get_num_threads() == before


def _threads_runner(trial, run_id):
    import torch

    return {"threads": torch.get_num_threads()}


LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def test_local_ray_listens_on_loopback_only_while_a_suite_runs(tmp_path):
    pytest.importorskip("ray")
    trials = [fake_trial(0, "sleep", seconds=6), fake_trial(1)]
    opts = Options(executor="ray", workers=2, runner=RUNNER, poll_s=0.2)
    seen: set[tuple[str, str]] = set()

    def watch():
        deadline = time.time() + 120
        while not list(tmp_path.rglob("*.parquet")) and time.time() < deadline:  # trial 0 is still sleeping
            time.sleep(0.2)
        procs = {p.pid: p for p in psutil.Process().children(recursive=True)}
        for c in psutil.net_connections("inet"):
            if c.status == psutil.CONN_LISTEN and c.pid in procs:
                seen.add((c.laddr.ip, procs[c.pid].name()))

    thread = threading.Thread(target=watch)
    thread.start()
    assert run_trials(trials, tmp_path, "t", "run1", show=False, opts=opts) == 2
    thread.join()
    names = {name for _, name in seen}
    assert any("gcs" in n for n in names) and any("raylet" in n for n in names), seen  # the OS saw Ray's servers
    assert {ip for ip, _ in seen} <= LOOPBACK, seen
