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
from harness.errors import ConfigError, StoreError, counted
from harness.run import protocols
from harness.run.backends import RETRIES, make_backend
from harness.run.leases import Leases
from harness.run.options import Options, in_shard
from harness.run.plan import Tracker, make_plan, measure
from harness.run.studies import expand
from harness.spec import RunSpec, Trial
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


class _Loop:
    """One pass of ``run_trials``: the trials to do, those running and those another live run trains, with the
    progress bar and tracker told about each."""

    def __init__(self, todo: deque, results: Path, label: str, run_id: str, opts: Options, backend, leases: Leases,
                 tracker: Tracker | None, bar: Progress, task):
        self.todo, self.results, self.label, self.run_id, self.opts = todo, results, label, run_id, opts
        self.backend, self.leases, self.tracker, self.bar, self.task = backend, leases, tracker, bar, task
        self.attempts: Counter[str] = Counter()
        self.running: dict[object, tuple[Trial, float]] = {}  # key -> (trial, when its clock started)
        self.waiting: list[Trial] = []
        self.ran = 0

    def busy(self) -> bool:
        return bool(self.todo or self.running or self.waiting)

    def done(self, trial: Trial, row: dict | None = None) -> None:
        """One trial fewer to go (``row``: it ran here)."""
        self.bar.advance(self.task)
        if self.tracker:
            self.tracker.finish(trial, row)

    def finish(self, trial: Trial, row: dict) -> None:
        for branch in row.pop("branches", None) or ():  # a trunk's cooldown branches first: the trunk's row
            store.write_row(self.results, branch)  # marks the trial stored
        store.write_row(self.results, row)
        self.leases.release(trial.trial_id)
        self.ran += 1
        self.done(trial, row)

    def give_up(self, trial: Trial, reason: str) -> None:
        """Infrastructure: not a result, retried next run."""
        self.leases.release(trial.trial_id)
        print(f"harness: trial {trial.trial_id} not stored ({reason}); the next run retries it", file=sys.stderr)
        self.done(trial)

    def _claim(self, trial: Trial) -> bool:
        """Whether this run trains ``trial`` now: not stored, and its lease ours (else it waits for its owner)."""
        if trial.trial_id in self.leases.held:
            return True
        if _stored(self.results, trial):
            self.done(trial)
            return False
        if not self.leases.take(trial.suite, trial.trial_id):
            self.waiting.append(trial)  # another live run trains it
            return False
        if _stored(self.results, trial):  # it finished between our scan and our lease
            self.leases.release(trial.trial_id)
            self.bar.advance(self.task)
            return False
        return True

    def submit_free(self) -> None:
        while self.todo and self.backend.free():
            trial = self.todo.popleft()
            if not self._claim(trial):
                continue
            text = self.tracker.text(trial) if self.tracker else f"{trial.method} {trial.workload}/{trial.scale}"
            self.bar.update(self.task, description=f"{self.label}: {text}")
            if self.tracker:
                self.tracker.start(trial)
            # a pool worker's start-up (a fresh process after a death) is not the trial's time
            grace = START_UP_S if getattr(self.backend, "announces_start", False) else 0.0
            self.running[self.backend.submit(trial, self.run_id, self.opts.runner)] = (trial, time.monotonic() + grace)

    def collect(self) -> None:
        for key, kind, payload in self.backend.poll(self.opts.poll_s if self.running else 0):
            if kind == "started":
                self.running[key] = (self.running[key][0], time.monotonic())
                continue
            trial, _ = self.running.pop(key)
            if kind == "row":
                self.finish(trial, payload)
            elif kind == "final":  # the backend already retried (Ray)
                self.give_up(trial, f"worker died {RETRIES + 1} times, last: {payload}")
            else:
                self._died(trial, payload)

    def _died(self, trial: Trial, reason: str) -> None:
        self.attempts[trial.trial_id] += 1
        if self.attempts[trial.trial_id] <= RETRIES:
            print(f"harness: worker died ({reason}); retrying {trial.trial_id}", file=sys.stderr)
            self.todo.appendleft(trial)
        else:
            self.give_up(trial, f"worker died {self.attempts[trial.trial_id]} times, last: {reason}")

    def kill_overdue(self) -> None:
        now = time.monotonic()
        for key, (trial, started) in list(self.running.items()):  # started: at "started", or submit + grace
            limit = _kill_after(trial, self.opts)
            if now - started > limit:
                self.backend.kill(key)
                del self.running[key]
                self.give_up(trial, f"killed by the executor after {now - started:.0f}s (kill_after_s {limit:g})")

    def wait_for_others(self) -> None:
        """Once nothing else is left: poll the trials other live runs train; a dead owner's become ours."""
        if not self.waiting or self.todo or self.running:
            return
        time.sleep(self.opts.poll_s)
        still = [t for t in self.waiting if not _stored(self.results, t)]
        for t in [t for t in self.waiting if t not in still]:
            self.done(t)  # another run stored it
        live = [t for t in still if self.leases.live_elsewhere(t.suite, t.trial_id)]
        self.todo.extend(t for t in still if t not in live)  # its owner died: ours now
        self.waiting = live
        waiting = f"{self.label}: waiting for {counted(len(live), 'trial')} another run trains"
        self.bar.update(self.task, description=waiting)


def run_trials(trials: list[Trial], results: Path, label: str, run_id: str, show: bool = True,
               opts: Options | None = None, backend=None, leases: Leases | None = None,
               tracker: Tracker | None = None) -> int:
    """Run and store every pending trial of this shard; returns how many ran here (``tracker``: the count
    over all phases, the budget and the ETA in the bar, step times recorded)."""
    opts = opts or Options()
    todo = deque(pending(trials, results, opts.shard))
    if not todo:
        return 0
    own_backend, own_leases = backend is None, leases is None
    backend = backend or make_backend(opts, todo[0].device)
    leases = leases or Leases(results, run_id)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not show, transient=False) as bar:
            task = bar.add_task(f"{label} ({len(trials) - len(todo)} stored)", total=len(todo))
            loop = _Loop(todo, results, label, run_id, opts, backend, leases, tracker, bar, task)
            while loop.busy():
                loop.submit_free()
                loop.collect()
                loop.kill_overdue()
                loop.wait_for_others()
    finally:
        if own_backend:
            backend.close()
        if own_leases:
            leases.close()
    return loop.ran


def _tuning_missing(spec: RunSpec, studies: list[Trial], cache: dict | None = None) -> list[Trial]:
    """The trials the suite's protocol proposes, given the stored rows, that are not stored yet."""
    rows = store.outcomes(Path(spec.results), spec.name, cache)
    return protocols.missing(protocols.get(spec.tuning.protocol), spec, studies, rows)


def _live_leases(results: Path, suite: str, leases: Leases) -> bool:
    folder = Path(results) / f"suite={suite}"
    return any(leases.live_elsewhere(suite, p.name[1:-len(".lease")]) for p in folder.glob(".*.lease"))


def run_tuning(spec: RunSpec, studies: list[Trial], run_id: str, show: bool, opts: Options, backend,
               leases: Leases, tracker: Tracker | None = None) -> tuple:
    """Run the protocol's proposals until it proposes nothing new: ``(trials run here, trials still missing)``.

    Each pass reads the store and asks the protocol (``harness.run.protocols``) what is missing; an adaptive one
    (coordinate descent) proposes its next round only once the last one is stored, so shards run each round
    in lockstep. Trials of another shard are waited for until ``WAIT_POLLS`` polls in a row see no live lease
    of another run and no progress.
    """
    results, ran, quiet, tried, cache, before = Path(spec.results), 0, 0, set(), {}, set()
    while True:
        missing = _tuning_missing(spec, studies, cache)
        mine = pending(missing, results, opts.shard)
        if mine and not {t.trial_id for t in mine} <= tried:
            tried |= {t.trial_id for t in mine}
            ran += run_trials(mine, results, "tune", run_id, show, opts, backend, leases, tracker)
            quiet = 0
            continue
        if not missing or mine or quiet >= WAIT_POLLS:  # mine: ran once and still not stored; give up
            return ran, missing
        now = {t.trial_id for t in missing}  # another run stored some since the last poll: it is alive
        quiet = 0 if now != before or _live_leases(results, spec.name, leases) else quiet + 1
        before = now
        time.sleep(opts.poll_s)


def run_suite(spec: RunSpec, show: bool = True, opts: Options | None = None, studies: list[Trial] | None = None,
              tracker: Tracker | None = None) -> dict:
    """Tuning trials of every study as its protocol proposes them, then the best configuration of each re-run
    with K seeds (a grid has no final phase).

    A study's final seeds run only once its tuning is complete (all its proposals stored, by any run or shard).
    ``studies``: ``expand(spec)``, when the caller has them already. ``tracker``: the one an earlier call
    returned (``"tracker"``), so that the progress count carries on over both (``verify`` adding seeds).
    """
    results, run_id = Path(spec.results), uuid.uuid4().hex[:12]
    _prepare(spec, results)
    opts = opts or Options.from_spec(spec)
    studies = expand(spec) if studies is None else studies
    plan = make_plan(spec, studies, opts.threads, shard=opts.shard, parallel=opts.parallel)
    if plan.unmeasured and opts.runner == Options.runner and opts.executor != "ray":  # an estimate from the start
        print(f"measuring {counted(len(plan.unmeasured), 'step time')} first (a few steps each) ...", file=sys.stderr)
        measure(plan)
        plan = make_plan(spec, studies, opts.threads, shard=opts.shard, parallel=opts.parallel)
    print(plan.text(), file=sys.stderr)  # stdout stays the leaderboard (--format markdown > file)
    if tracker is None:
        tracker = Tracker(plan)
    else:
        tracker.follow(plan)
    backend = make_backend(opts, spec.train.device)  # starts its workers on the first trial
    leases = Leases(results, run_id)
    try:
        ran, missing = run_tuning(spec, studies, run_id, show, opts, backend, leases, tracker)
        incomplete = {t.study_id for t in missing}
        rows, _ = store.read_results(results, spec.name, columns=FINAL_COLUMNS)
        rows = rows[~rows["study_id"].isin(incomplete)]
        finals = protocols.get(spec.tuning.protocol).final_trials(spec, studies, rows)
        ran += run_trials(finals, results, "final", run_id, show, opts, backend, leases, tracker)
        if not _live_leases(results, spec.name, leases):  # another run's waits would miss compacted trials
            _compact(results, spec.name)
    finally:
        backend.close()
        leases.close()
    left = missing + pending(finals, results)
    mine = [t for t in left if in_shard(t.trial_id, opts.shard)]
    if left:
        others = f", {len(left) - len(mine)} of other shards" if opts.shard else ""
        wait = "waits" if len(incomplete) == 1 else "wait"
        print(f"harness: {counted(len(left), 'trial')} {'is' if len(left) == 1 else 'are'} not stored yet "
              f"({len(mine)} of this run{others}; {counted(len(incomplete), 'study', 'studies')} {wait} for them "
              f"before {'its' if len(incomplete) == 1 else 'their'} final seeds): rerun the same command "
              f"{'on every shard ' if opts.shard else ''}to finish them", file=sys.stderr)
    return {"ran": ran, "run_id": run_id, "incomplete_studies": len(incomplete), "missing": len(mine),
            "tracker": tracker}


def _compact(results: Path, suite: str) -> None:
    """The end of a suite's compaction: its trials are stored already, so a failure is a warning."""
    warnings: list[str] = []
    try:
        compact(results, suite, merge=False, warnings=warnings)
    except StoreError as exc:
        warnings.append(str(exc))
    for line in warnings:
        print(f"harness: warning: {line}", file=sys.stderr)


def _prepare(spec: RunSpec, results: Path) -> None:
    """Before any trial: a CUDA device if the suite needs one, a writable results folder, unreadable files aside."""
    import torch

    if spec.train.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={spec.train.device} but this machine has no CUDA device")
    store.check_writable(results, spec.name)
    for moved in store.set_aside(results, spec.name):
        print(f"harness: results file set aside, its trial runs again: {moved}", file=sys.stderr)
