"""A plan before every run: how many studies, trials and training steps, and how long they should take.

Step times are measured, never guessed: every finished trial records its median step time, the machine's
load while it ran (1-minute load average and the cores it had) and its per-trial overhead (build, warm-up,
evaluations: wall time minus training steps) in ``step_times.json`` of the project's cache folder
(``harness.cache.folder``), keyed by optimizer, schedule, training method, workload, scale, batch size, device,
threads and machine. The estimate takes the median of the quiet measurements (load <= cores) where there are
any, else of all, and then says "measured under load". A trial whose key has no measurement yet makes the
estimate "unknown" for it; the first run measures it, or ``measure`` (``harness validate --measure``) times a
few steps of each beforehand. The ``Tracker`` feeds the progress bar: the count over every phase (stored trials
included, so a resumed run counts on; ``follow`` carries it on over a later plan, as when ``verify`` adds seeds),
the trial's budget and an ETA from the plan, corrected by how fast this run really goes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness import cache, store
from harness.errors import counted
from harness.run import protocols
from harness.run.options import in_shard
from harness.spec import RunSpec, Trial
from harness.train import workloads

KEEP = 20  # measurements kept per key (their median is used)
SHOWN = 4  # method/scale pairs without a measurement named in the plan
MEASURE_STEPS = 8  # training steps of a quick measurement (``measure``), at least one per evaluation


def cache_path() -> Path:
    return cache.folder() / "step_times.json"


def step_key(trial: Trial, threads: int | None) -> str:
    """What a step time depends on besides the hyperparameters."""
    return "|".join(str(x) for x in (trial.optimizer, trial.schedule, trial.training_method, trial.workload,
                                     trial.scale, trial.batch_size, trial.device, threads or "all", platform.node()))


def load_times(path: Path | None = None) -> dict:
    try:
        return json.loads((path or cache_path()).read_text())
    except (OSError, ValueError):  # none yet, or a half-written file from a killed run: start afresh
        return {}


def record(times: dict, key: str, row: dict, wall_s: float | None, path: Path | None = None) -> None:
    """Add one finished trial's step time, load (its ``load_avg``, else the load now, and the cores) and overhead
    (``wall_s`` None: not known) to ``times``; save it (a cache: a failure to save is not an error)."""
    from harness.train.hardware import cores, load_avg  # a trial ran in this process: torch is imported

    steps, step_ms = row.get("steps"), row.get("step_time_ms_p50")
    if row.get("status") != "ok" or not steps or not step_ms or not math.isfinite(step_ms):
        return
    entry = times.setdefault(key, {"step_s": [], "overhead_s": []})
    step_s, load = step_ms / 1000, row.get("load_avg")
    load = load_avg() if load is None or not math.isfinite(load) else load
    loads = entry.get("load") or [None] * len(entry["step_s"])  # aligned with step_s (older files had none)
    entry["load"] = [*loads, None if load is None else [round(load, 2), cores()]][-KEEP:]
    entry["step_s"] = [*entry["step_s"], round(step_s, 6)][-KEEP:]
    if wall_s is not None:
        entry["overhead_s"] = [*entry["overhead_s"], round(max(wall_s - steps * step_s, 0.0), 3)][-KEEP:]
    path = path or cache_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(times, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:  # a full or read-only cache folder: the estimate just learns nothing
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def rate(entry: dict) -> tuple[float, float, bool]:
    """``(step s, overhead s, under load)`` of one key's measurements: the median step time of the quiet ones
    (load <= cores) where there are any, else of all (``under load``: then some were, measured above the cores;
    older measurements have no load)."""
    steps = entry["step_s"]
    loads = (entry.get("load") or [])[-len(steps):]
    loads = [None] * (len(steps) - len(loads)) + loads
    quiet = [s for s, load in zip(steps, loads, strict=True) if load is not None and load[0] <= load[1]]
    loaded = any(load is not None and load[0] > load[1] for load in loads)
    return (statistics.median(quiet or steps), statistics.median(entry.get("overhead_s") or [0.0]),
            loaded and not quiet)


@dataclass
class Plan:
    """The trials a configuration runs (``bound``: coordinate descent's count is a cap, not exact)."""

    studies: int
    tune: int
    final: int
    stored: int
    steps: int
    bound: bool
    seconds: float  # estimated wall time of the trials not stored yet, over those with a measured step time
    unknown: list[str] = field(default_factory=list)  # "method workload/scale" without a measurement
    threads: int | None = None
    rates: dict[str, tuple[float, float, bool]] = field(default_factory=dict)  # key -> step s, overhead s, loaded
    units: dict[tuple, int] = field(default_factory=dict)  # (workload, scale, batch size) -> units a step
    unmeasured: dict[str, Trial] = field(default_factory=dict)  # step key -> a trial that would measure it
    parallel: int = 1  # trials at once (pool or Ray workers): the wall time is the summed time over them
    loaded: list[str] = field(default_factory=list)  # "method workload/scale" timed only under load

    @property
    def trials(self) -> int:
        return self.tune + self.final

    def steps_of(self, trial: Trial) -> int:
        shape = (trial.workload, trial.scale, trial.batch_size)
        if shape not in self.units:
            data = {**trial.data, "batch_size": trial.batch_size}
            self.units[shape] = workloads.sizes(trial.workload, trial.scale, data)[1]
        decay = trial.hparams.get("decay", 0.2)  # a trunk's cooldown branches: their decay steps too
        return math.ceil((max(trial.budget_tokens, 1) + sum(decay * b[1] for b in trial.branches)) / self.units[shape])

    def seconds_of(self, trial: Trial) -> float | None:
        """(steps + warm-up) x the median step time + the median overhead; None without a measurement."""
        known = self.rates.get(step_key(trial, self.threads))
        return (self.steps_of(trial) + trial.warmup_steps) * known[0] + known[1] if known else None

    def text(self) -> str:
        cap = "at most " if self.bound else ""
        head = (f"plan: {counted(self.studies, 'study', 'studies')}, {cap}{self.tune} tuning + {self.final} final = "
                f"{counted(self.trials, 'trial')} ({self.stored} stored), "
                f"{cap}{self.steps:,} training step{'' if self.steps == 1 else 's'}")
        if self.stored == self.trials and not self.bound:
            return f"{head}; nothing left to run"
        wall = self.seconds / self.parallel
        loaded = f"; measured under load for {_some(self.loaded)}: it may be long" if self.loaded else ""
        if self.unknown:
            part = f"at least {duration(wall)}; " if wall else ""
            return (f"{head}; estimated wall time: {part}unknown for {_some(self.unknown)} "
                    f"(no step time measured on this machine yet: the first run measures it){loaded}")
        workers = f" on {self.parallel} workers" if self.parallel > 1 else ""
        return (f"{head}; estimated wall time {cap}{duration(wall)}{workers} (step times measured on this machine"
                f"{loaded})")


def _some(names: list[str]) -> str:
    """The first ``SHOWN`` names, and how many more."""
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{', '.join(names[:SHOWN])}{more}"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def make_plan(spec: RunSpec, studies: list[Trial], threads: int | None = None, times: dict | None = None,
              shard: tuple[int, int] | None = None, parallel: int = 1) -> Plan:
    """Count and time what ``harness run`` would do with ``spec`` and its ``studies`` now (stored trials are not
    run again), on ``parallel`` workers at once (the wall time is the trials' summed time over them).

    With ``shard=(i, n)``: this shard's trials; where their ids are not known before tuning (final seeds,
    coordinate descent), every n-th one stands for them.
    """
    times = load_times() if times is None else times
    protocol = protocols.get(spec.tuning.protocol)
    seeds = spec.tuning.seeds
    tune, final = protocol.planned(spec, studies)
    done = store.outcomes(Path(spec.results), spec.name)
    done = done[done["study_id"].isin({s.study_id for s in studies})]
    tune_stored = _stored_tune(protocol.ids_known, tune, done)
    first = done["study_id"].map({s.study_id: s.repeat * seeds for s in studies}).astype(float)  # seeds: first + 1..K
    # (a number even where no stored row is of these studies: an empty map of strings stays strings)
    finals = done[(done["phase"] == "final") & (done["seed"] > first) & (done["seed"] <= first + seeds)]
    seeds_stored = finals.groupby("study_id")["seed"].nunique()
    final_stored = _first_n(final, seeds_stored)
    if shard:
        pairs = list(zip(tune, tune_stored, strict=True))
        by_id = protocol.ids_known
        pairs = [p for p in pairs if in_shard(p[0].trial_id, shard)] if by_id else pairs[shard[0]::shard[1]]
        tune, tune_stored = [p[0] for p in pairs], [p[1] for p in pairs]
        final, final_stored = final[shard[0]::shard[1]], final_stored[shard[0]::shard[1]]
    stored = sum(tune_stored) + sum(final_stored)
    rates = {key: rate(e) for key, e in times.items() if e.get("step_s")}
    plan = Plan(len(studies), len(tune), len(final), stored, 0, not protocol.ids_known, 0.0, threads=threads,
                rates=rates, parallel=max(1, min(parallel, len(tune) + len(final) - stored)))
    unknown, loaded = {}, {}
    for group, flags in ((tune, tune_stored), (final, final_stored)):
        for trial, is_stored in zip(group, flags, strict=True):
            plan.steps += plan.steps_of(trial)
            if is_stored:  # this very trial (tuning: its id; final: one of its study's seeds 1..K) is stored
                continue
            seconds, key = plan.seconds_of(trial), step_key(trial, threads)
            plan.seconds += seconds or 0.0
            name = f"{trial.method} {trial.workload}/{trial.scale}"
            if seconds is None:
                unknown[name] = True
                plan.unmeasured.setdefault(key, trial)
            elif rates[key][2]:
                loaded[name] = True
    plan.unknown, plan.loaded = list(unknown), list(loaded)
    return plan


def _stored_tune(ids_known: bool, tune: list[Trial], done) -> list[bool]:
    """Which tuning trials are stored: by id where the protocol knows them in advance, else (coordinate
    descent) the first n of each study, n = its stored tuning rows (rows of other runs never count twice)."""
    if ids_known:
        ids = set(done["trial_id"])
        return [t.trial_id in ids for t in tune]
    return _first_n(tune, done[done["phase"] != "final"].groupby("study_id").size())


def _first_n(trials: list[Trial], count) -> list[bool]:
    """True for the first ``count[study]`` trials of each study in ``trials`` (stored ones, counted per study)."""
    seen: dict[str, int] = {}
    flags = []
    for t in trials:
        seen[t.study_id] = seen.get(t.study_id, 0) + 1
        flags.append(seen[t.study_id] <= count.get(t.study_id, 0))
    return flags


def measure(plan: Plan, path: Path | None = None, steps: int = MEASURE_STEPS) -> int:
    """Time a few training steps of every trial kind the plan has no measurement for; returns how many.

    Each runs in this process with its suite's evaluations and meters (so its overhead is a real
    trial's), on a budget of ``max(steps, evals)`` steps; the first one's overhead is not kept (imports).
    """
    import torch

    from harness.train.trainer import run_trial

    times, measured, threads = load_times(path), 0, torch.get_num_threads()
    torch.set_num_threads(plan.threads or threads)  # as the local executor runs it
    try:
        for key, trial in plan.unmeasured.items():
            units = plan.units[(trial.workload, trial.scale, trial.batch_size)]
            short = replace(trial, budget_tokens=max(steps, trial.evals) * units, phase="measure")
            began = time.monotonic()
            row = run_trial(short)
            record(times, key, row, time.monotonic() - began if measured else None, path)
            measured += 1
    finally:
        torch.set_num_threads(threads)
    return measured


class Tracker:
    """Counts trials over every phase, records step times, and estimates the time left."""

    def __init__(self, plan: Plan, path: Path | None = None):
        self.plan, self.path = plan, path
        self.done, self.total, self.times = plan.stored, plan.trials, load_times(path)
        self.left_s = plan.seconds
        self.spent_s = self.planned_s = 0.0
        self.ran = 0
        self.started: dict[str, float] = {}

    def follow(self, plan: Plan) -> None:
        """Count on over ``plan`` (a later run of the same command, e.g. ``verify`` adding a seed): its trials not
        stored yet are added to the total, the count so far stays."""
        self.plan, self.left_s = plan, plan.seconds
        self.total = self.done + plan.trials - plan.stored

    def start(self, trial: Trial) -> None:
        self.started[trial.trial_id] = time.monotonic()

    def finish(self, trial: Trial, row: dict | None = None) -> None:
        """One trial more is stored (``row``: it ran here, and its step time is recorded)."""
        self.done += 1
        key = step_key(trial, self.plan.threads)
        guess = self.plan.seconds_of(trial) or 0.0
        self.left_s = max(self.left_s - guess, 0.0)
        began = self.started.pop(trial.trial_id, None)
        if row is not None and began is not None:
            wall = time.monotonic() - began
            self.spent_s += wall
            self.planned_s += guess if guess else wall
            first = not self.ran  # the process's first trial also pays one-off imports: no overhead from it
            self.ran += 1
            record(self.times, key, row, None if first else wall, self.path)

    def eta(self) -> str:
        if self.plan.unknown and not self.spent_s:
            return "ETA unknown"
        pace = self.spent_s / self.planned_s if self.planned_s else 1.0  # this run against the plan
        left = self.left_s * pace
        if self.plan.unknown and self.ran:  # no plan for some: the mean trial so far
            left = max(left, (self.total - self.done) * self.spent_s / self.ran)
        return f"ETA {duration(left / self.plan.parallel)}"

    def text(self, trial: Trial) -> str:
        total = f"{self.done}/{'≤' if self.plan.bound else ''}{self.total}"
        return (f"{trial.method} {trial.workload}/{trial.scale} budget {trial.budget_multiple:g}x "
                f"({trial.budget_tokens:,} units) · {total} trials overall · {self.eta()}")
