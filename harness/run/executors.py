"""Executors run trials and store each result the moment it finishes.

``local`` runs trials one after another in this process. ``pool`` runs ``workers`` worker processes
(``spawn``; on CUDA one GPU per worker through ``CUDA_VISIBLE_DEVICES``, never two trials on one GPU).
``ray`` submits Ray tasks (1 CPU, and 1 GPU on CUDA) to the cluster at ``ray.address``, or to a local
instance it starts. ``shard=i/n`` keeps the trials whose id hashes to ``i`` modulo ``n``, so machines that
share only the results folder split a suite between them.

Never losing a result: the driver writes each row atomically (``store.write_row``) as it arrives and
skips every trial already stored, so a killed run resumes by rerunning. Failures of the method (diverged,
raised, out of memory, the trainer's ``time_limit_s``) are results and stored. Failures of the infrastructure
are not: a worker that dies (segfault, ``os._exit``, SIGKILL) is noticed by its process sentinel and its
trial retried once on a fresh worker; a trial still running ``kill_after_s`` after it started is killed; a
full disk stops the run. Such a trial is reported, never stored, so the leaderboard and the choice of the
best configuration never count it and the next run retries it; ``run_suite`` ends by naming every trial
still missing and the command that finishes them. Runs sharing a folder take a lease per trial
(``harness.run.leases``) and wait for trials that another live run is training before the protocol's next
round or the final phase needs them.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter, deque
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness import store
from harness.errors import ConfigError
from harness.run import protocols
from harness.run.backends import RETRIES, make_backend
from harness.run.leases import Leases
from harness.run.options import Options, in_shard
from harness.run.plan import Tracker, make_plan
from harness.spec import Trial
from harness.store.compact import compact

FINAL_COLUMNS = ["study_id", "phase", "status", "final_val_loss", "hparams_json"]  # what picks the best configs
WAIT_POLLS = 3  # polls without any live lease of another run before we stop waiting for it


def pending(trials: list[Trial], results: Path, shard: tuple[int, int] | None = None) -> list[Trial]:
    """The trials of this shard not yet in the store (each trial id once)."""
    done = {sid for suite in {t.suite for t in trials} for sid in store.stored_ids(results, suite)}
    return list({t.trial_id: t for t in trials if t.trial_id not in done and in_shard(t.trial_id, shard)}.values())


def _stored(results: Path, trial: Trial) -> bool:
    return store.trial_path(results, trial.suite, trial.trial_id).exists()


START_UP_S = 600.0  # how long a pool worker may take to start (spawn + imports) before its trial's clock runs


def _kill_after(trial: Trial, opts: Options) -> float:
    return opts.kill_after_s if opts.kill_after_s is not None else 2 * trial.time_limit_s + 300


def run_trials(trials: list[Trial], results: Path, label: str, run_id: str, show: bool = True,
               opts: Options | None = None, backend=None, leases: Leases | None = None,
               tracker: Tracker | None = None) -> int:
    """Run and store every pending trial of this shard; returns how many ran here (``tracker``: the count
    over all phases, the budget and the ETA in the bar, step times recorded)."""
    opts = opts or Options()
    todo = deque(pending(trials, results, opts.shard))
    own_backend, own_leases = backend is None, leases is None
    if not todo:
        return 0
    backend = backend or make_backend(opts, todo[0].device)
    leases = leases or Leases(results, run_id)
    attempts: Counter[str] = Counter()
    running: dict[object, tuple[Trial, float]] = {}
    waiting: list[Trial] = []
    ran = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not show, transient=False) as bar:
            task = bar.add_task(f"{label} ({len(trials) - len(todo)} stored)", total=len(todo))

            def finish(trial: Trial, row: dict) -> None:
                nonlocal ran
                store.write_row(results, row)
                leases.release(trial.trial_id)
                ran += 1
                bar.advance(task)
                if tracker:
                    tracker.finish(trial, row)

            def give_up(trial: Trial, reason: str) -> None:  # infrastructure: not a result, retried next run
                leases.release(trial.trial_id)
                print(f"harness: trial {trial.trial_id} not stored ({reason}); the next run retries it",
                      file=sys.stderr)
                bar.advance(task)
                if tracker:
                    tracker.finish(trial)

            while todo or running or waiting:
                while todo and backend.free():
                    trial = todo.popleft()
                    if trial.trial_id not in leases.held:
                        if _stored(results, trial):
                            bar.advance(task)
                            if tracker:
                                tracker.finish(trial)
                            continue
                        if not leases.take(trial.suite, trial.trial_id):
                            waiting.append(trial)  # another live run trains it
                            continue
                        if _stored(results, trial):  # it finished between our scan and our lease
                            leases.release(trial.trial_id)
                            bar.advance(task)
                            continue
                    text = tracker.text(trial) if tracker else f"{trial.method} {trial.workload}/{trial.scale}"
                    bar.update(task, description=f"{label}: {text}")
                    if tracker:
                        tracker.start(trial)
                    # a pool worker's start-up (a fresh process after a death) is not the trial's time
                    grace = START_UP_S if getattr(backend, "announces_start", False) else 0.0
                    running[backend.submit(trial, run_id, opts.runner)] = (trial, time.monotonic() + grace)
                for key, kind, payload in backend.poll(opts.poll_s if running else 0):
                    if kind == "started":
                        running[key] = (running[key][0], time.monotonic())
                        continue
                    trial, _ = running.pop(key)
                    if kind == "row":
                        finish(trial, payload)
                    elif kind == "final":  # the backend already retried (Ray)
                        give_up(trial, f"worker died {RETRIES + 1} times, last: {payload}")
                    else:  # the worker died
                        attempts[trial.trial_id] += 1
                        if attempts[trial.trial_id] <= RETRIES:
                            print(f"harness: worker died ({payload}); retrying {trial.trial_id}", file=sys.stderr)
                            todo.appendleft(trial)
                        else:
                            give_up(trial, f"worker died {attempts[trial.trial_id]} times, last: {payload}")
                now = time.monotonic()
                for key, (trial, started) in list(running.items()):  # started: at "started", or submit + grace
                    if now - started > _kill_after(trial, opts):
                        backend.kill(key)
                        del running[key]
                        limit = _kill_after(trial, opts)
                        give_up(trial, f"killed by the executor after {now - started:.0f}s (kill_after_s {limit:g})")
                if waiting and not todo and not running:
                    time.sleep(opts.poll_s)
                    still = [t for t in waiting if not _stored(results, t)]
                    bar.advance(task, len(waiting) - len(still))
                    for t in [t for t in waiting if t not in still] if tracker else []:
                        tracker.finish(t)  # another run stored it
                    live = [t for t in still if leases.live_elsewhere(t.suite, t.trial_id)]
                    todo.extend(t for t in still if t not in live)  # its owner died: ours now
                    waiting = live
                    bar.update(task, description=f"{label}: waiting for {len(live)} trials another run trains")
    finally:
        if own_backend:
            backend.close()
        if own_leases:
            leases.close()
    return ran


def _tuning_missing(cfg, results: Path, cache: dict | None = None) -> list[Trial]:
    """The trials the suite's protocol proposes, given the stored rows, that are not stored yet."""
    return protocols.missing(cfg, store.outcomes(results, cfg.name, cache))


def _live_leases(results: Path, suite: str, leases: Leases) -> bool:
    folder = Path(results) / f"suite={suite}"
    return any(leases.live_elsewhere(suite, p.name[1:-len(".lease")]) for p in folder.glob(".*.lease"))


def run_tuning(cfg, results: Path, run_id: str, show: bool, opts: Options, backend, leases: Leases,
               tracker: Tracker | None = None) -> tuple:
    """Run the protocol's proposals until it proposes nothing new: ``(trials run here, trials still missing)``.

    Each pass reads the store and asks the protocol (``harness.run.protocols``) what is missing; an adaptive one
    (coordinate descent) proposes its next round only once the last one is stored, so shards run each round
    in lockstep. Trials of another shard are waited for until ``WAIT_POLLS`` polls in a row see no live lease
    of another run and no progress.
    """
    ran, quiet, tried, cache, before = 0, 0, set(), {}, set()
    while True:
        missing = _tuning_missing(cfg, results, cache)
        mine = pending(missing, results, opts.shard)
        if mine and not {t.trial_id for t in mine} <= tried:
            tried |= {t.trial_id for t in mine}
            ran += run_trials(mine, results, "tune", run_id, show, opts, backend, leases, tracker)
            quiet = 0
            continue
        if not missing or mine or quiet >= WAIT_POLLS:  # mine: ran once and still not stored; give up
            return ran, missing
        now = {t.trial_id for t in missing}  # another run stored some since the last poll: it is alive
        quiet = 0 if now != before or _live_leases(results, cfg.name, leases) else quiet + 1
        before = now
        time.sleep(opts.poll_s)


def run_suite(cfg, show: bool = True, opts: Options | None = None) -> dict:
    """Tuning trials of every study as its protocol proposes them, then the best configuration of each re-run
    with K seeds (a grid has no final phase).

    A study's final seeds run only once its tuning is complete (all its proposals stored, by any run or shard).
    """
    results, run_id = Path(cfg.results), uuid.uuid4().hex[:12]
    _prepare(cfg, results)
    opts = opts or Options.from_config(cfg)
    plan = make_plan(cfg, opts.threads, shard=opts.shard, parallel=opts.parallel)
    print(plan.text(), file=sys.stderr)  # stdout stays the leaderboard (--format markdown > file)
    tracker = Tracker(plan)
    backend = make_backend(opts, str(cfg.train.device))  # starts its workers on the first trial
    leases = Leases(results, run_id)
    try:
        ran, missing = run_tuning(cfg, results, run_id, show, opts, backend, leases, tracker)
        incomplete = {t.study_id for t in missing}
        rows, _ = store.read_results(results, cfg.name, columns=FINAL_COLUMNS)
        rows = rows[~rows["study_id"].isin(incomplete)]
        finals = protocols.final_trials(cfg, rows)
        ran += run_trials(finals, results, "final", run_id, show, opts, backend, leases, tracker)
        if not _live_leases(results, cfg.name, leases):  # another run's waits would miss compacted trials
            compact(results, cfg.name, merge=False)
    finally:
        backend.close()
        leases.close()
    left = missing + pending(finals, results)
    mine = [t for t in left if in_shard(t.trial_id, opts.shard)]
    if left:
        others = f", {len(left) - len(mine)} of other shards" if opts.shard else ""
        print(f"harness: {len(left)} trials are not stored yet ({len(mine)} of this run{others}; "
              f"{len(incomplete)} studies wait for them before their final seeds): rerun the same command "
              f"{'on every shard ' if opts.shard else ''}to finish them", file=sys.stderr)
    return {"ran": ran, "run_id": run_id, "incomplete_studies": len(incomplete), "missing": len(mine)}


def _prepare(cfg, results: Path) -> None:
    """Before any trial: a CUDA device if the suite needs one, a writable results folder, unreadable files aside."""
    import torch

    if str(cfg.train.device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={cfg.train.device} but this machine has no CUDA device")
    store.check_writable(results, cfg.name)
    for moved in store.set_aside(results, cfg.name):
        print(f"harness: results file set aside, its trial runs again: {moved}", file=sys.stderr)
