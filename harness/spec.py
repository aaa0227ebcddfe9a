"""What a run asks for, typed and frozen: the run specification (``RunSpec``, made once by ``harness.config`` from
a suite file and the command line) and the ``Trial``, everything that determines one training run.

Every key a suite file or the command line may set is a field below, with its default and its help (``keys``
prints them: ``harness run --help``). Each section checks its own values when it is made (``__post_init__``);
what needs more than the section (methods, workloads, the protocol, the executor) is checked by its owner
(``harness.run.studies``, ``harness.train.workloads``, ``harness.run.protocols``, ``harness.run.options``).

The trial id is a hash of every ``Trial`` field but ``NOT_IDENTITY``; fields added later hash only when they leave
their default (``NEW_DEFAULTS``), so rows stored before them keep their ids. Shared by the planner
(``harness.run``), which makes trials without importing torch, and the trainer that runs them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import ConfigError

MAX_COUNT, MAX_BUDGET = 100_000, 1e6  # trials, seeds, evaluations, batch size; budgets (x Chinchilla): int64 holds them
PRECISIONS = ("fp32", "bf16")
KINDS = ("optimizer", "schedule", "method")
TUNED = ("method", "optimizer", "schedule")
DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")


def _help(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING):
    """A field with its help text (``keys``)."""
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


def positive(key: str, value, most: int = MAX_COUNT) -> None:
    """``value`` is an integer in 1..most, else a ``ConfigError`` naming ``key``."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise ConfigError(f"{key} must be a positive integer up to {most}, got {value!r}")


def _number(key: str, value, most: float = math.inf, null: bool = False) -> None:
    if null and value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or not (0 < value <= most):
        bound = f" up to {most:g}" if math.isfinite(most) else ""
        raise ConfigError(f"{key} must be {'null or ' if null else ''}a positive number{bound}, got {value!r}")


def _text(key: str, value, null: bool = False) -> None:
    if not (null and value is None) and not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{key} must be a non-empty string{' or null' if null else ''}, got {value!r}")


@dataclass(frozen=True)
class WorkloadSpec:
    """One workload of a suite: its scales and budgets."""

    scales: tuple[str, ...] = _help("named model sizes of the workload", factory=tuple)
    budgets: tuple[float, ...] = _help("multiples of the Chinchilla budget (20 tokens per parameter)", factory=tuple)
    baseline_budgets: tuple[float, ...] | None = _help("the baseline's extra budgets (verify designs them)", None)

    def __post_init__(self):
        for s in self.scales:
            _text("workloads' scales", s)
        for b in (*self.budgets, *(self.baseline_budgets or ())):
            if not (0 < b <= MAX_BUDGET):  # NaN fails too
                raise ConfigError(f"budgets must be positive multiples of the Chinchilla budget up to "
                                  f"{MAX_BUDGET:g}, got {b!r}")


@dataclass(frozen=True)
class Tuning:
    """How every study is tuned: the same protocol, count and sampler for every method."""

    protocol: str = _help("quasirandom (scrambled Halton) | coordinate_descent (Fantastic Optimizers) | grid "
                          "(factorial)", "quasirandom")
    trials: int = _help("tuning trials per study, the same for every method (coordinate_descent: the cap)", 4)
    grid_points: int = _help("coordinate_descent: grid points per LogUniform/Uniform hyperparameter", 4)
    grid: dict[str, Any] = _help("grid: {batch_size or hyperparameter: [values] or {logspace|linspace: [lo, hi, n]}}",
                                 factory=dict)
    seeds: int = _help("final re-runs of the best configuration (seeds 1..K) per tuning study", 2)
    repeats: int = _help("independent tuning studies per method and budget (quasi-random seed tuning.seed + r), "
                         "each re-run with its own seeds: the tuning noise enters every interval", 1)
    seed: int = _help("the sampler's seed (the same for every method)", 0)
    tune: tuple[str, ...] = _help("whose search spaces are tuned: method, optimizer, schedule", ("method",))

    def __post_init__(self):
        _text("tuning.protocol", self.protocol)
        positive("tuning.trials", self.trials)
        positive("tuning.seeds", self.seeds)
        positive("tuning.repeats", self.repeats, 1000)
        if self.repeats > 1 and self.seeds != 1:  # every final row then draws seed and tuning noise afresh
            raise ConfigError(f"tuning.repeats={self.repeats} re-runs each repeated study with one seed: set "
                              f"tuning.seeds=1 (got {self.seeds})")
        if self.seed < 0:
            raise ConfigError(f"tuning.seed must be an integer >= 0, got {self.seed!r}")
        if not 2 <= self.grid_points <= 1000:
            raise ConfigError(f"tuning.grid_points must be an integer >= 2 and <= 1000, got {self.grid_points!r}")
        for t in self.tune:
            if t not in TUNED:
                raise ConfigError(f"tuning.tune entries must be method, optimizer or schedule, got {t!r}")


@dataclass(frozen=True)
class Train:
    """How every trial trains and is measured."""

    evals: int = _help("evaluations per run (evenly spaced; the last one at the end of the schedule)", 20)
    batch_size: int | None = _help("null: the scale's default", None)
    warmup_steps: int = _help("untimed steps on a throwaway copy before the timed run", 2)
    divergence_factor: float = _help("diverged when the train loss exceeds this multiple of its first value", 3.0)
    time_limit_s: float = _help("checked by the trainer at each evaluation", 3600.0)
    kill_after_s: float | None = _help("pool/ray: kill a trial still running after this (null: 2 x time_limit_s "
                                       "+ 300)", None)
    device: str = _help("cpu | cuda | cuda:N | mps", "cpu")
    precision: str = _help("fp32 | bf16 (autocast of forward, loss and evaluation; weights and optimizer fp32)",
                           "fp32")
    compile: bool = _help("torch.compile the model (GPU runs; CPU needs a C++ compiler)", False)
    codecarbon: bool = _help("CO2 and CPU/RAM energy estimates (about 1 s per trial); off: energy_method=none "
                             "on CPU", True)
    branches: bool = _help("many budgets from one run: one warmup-stable-decay trunk per method, scale and seed, "
                           "cooled down at each smaller budget (Hägele et al.; schedule wsd, quasirandom)", False)
    country: str = _help("the grid whose carbon intensity turns energy into emissions (ISO 3166 alpha-3)", "USA")

    def __post_init__(self):
        positive("train.evals", self.evals)
        if self.batch_size is not None:
            positive("train.batch_size", self.batch_size)
        if self.warmup_steps < 0:
            raise ConfigError(f"train.warmup_steps must be an integer >= 0, got {self.warmup_steps!r}")
        _number("train.divergence_factor", self.divergence_factor)
        _number("train.time_limit_s", self.time_limit_s)
        _number("train.kill_after_s (seconds)", self.kill_after_s, null=True)
        _text("train.country", self.country)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"train.precision must be fp32 or bf16, got {self.precision!r}")
        if not DEVICE.fullmatch(self.device):
            raise ConfigError(f"train.device must be cpu, cuda, cuda:N or mps, got {self.device!r}")


@dataclass(frozen=True)
class Data:
    """Where a workload reads its data from (nothing is downloaded)."""

    path: str | None = _help("gpt: a folder of nanoGPT / modded-nanogpt uint16 token shards; cifar10: the binary "
                             "batches", None)

    def __post_init__(self):
        _text("data.path", self.path, null=True)


@dataclass(frozen=True)
class Verify:
    """``harness verify``'s sequential seeds."""

    max_seeds: int = _help("verify adds seeds, one at a time, to studies whose verdict is undecided, up to this", 5)

    def __post_init__(self):
        positive("verify.max_seeds", self.max_seeds)


@dataclass(frozen=True)
class Ray:
    """Where ``executor=ray`` runs."""

    address: str | None = _help("null: start a local Ray instance on 127.0.0.1; 'auto' or 'host:port': join that "
                                "cluster", None)

    def __post_init__(self):
        if self.address is not None and not self.address.strip():
            raise ConfigError(f"ray.address must be null, 'auto' or 'host:port', got {self.address!r}")


@dataclass(frozen=True)
class RunSpec:
    """One suite run: what to compare, how to tune it, how to train and where to store it."""

    name: str = _help("the suite (its file name; set by harness)", "")
    version: str = _help("results of different versions are never pooled", "1")
    description: str = _help("what the suite compares", "")
    kind: str = _help("what `methods` lists: optimizer | schedule | method", "optimizer")
    baseline: str = _help("the method every other is compared against (tuned the same way)", "adamw")
    methods: tuple[str, ...] = _help("the compared methods (variants: name(key=value))", factory=tuple)
    optimizer: str = _help("the optimizer held fixed (when methods are schedules or training methods)", "adamw")
    schedule: str = _help("the schedule held fixed", "cosine")
    training_method: str | None = _help("the training method held fixed", None)
    workloads: dict[str, WorkloadSpec] = _help("name: {scales: [...], budgets: [...], baseline_budgets: [...]}",
                                               factory=dict)
    hparams: dict[str, Any] = _help("fixed hyperparameters for every method and trial", factory=dict)
    tuning: Tuning = _help("", factory=Tuning)
    train: Train = _help("", factory=Train)
    data: Data = _help("", factory=Data)
    results: str = _help("the results folder (inside the working directory unless given on the command line)",
                         "results")
    executor: str = _help("local (one at a time, in this process) | pool (worker processes) | ray", "local")
    workers: int = _help("pool/ray: trials at once (CUDA: at most one per GPU)", 1)
    threads: int | None = _help("torch threads per trial (parallelism goes across trials; null: local all cores, "
                                "pool the cores divided among workers)", 1)
    shard: str | None = _help("\"i/n\": only the trials whose id hashes to i modulo n (0 <= i < n)", None)
    verify: Verify = _help("", factory=Verify)
    ray: Ray = _help("", factory=Ray)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        for key in ("baseline", "optimizer", "schedule", "results", "executor"):
            _text(key, getattr(self, key))
        for name in self.methods:
            _text("methods", name)
        _text("training_method", self.training_method, null=True)
        for key, value in self.hparams.items():
            if isinstance(value, dict | list | tuple) or (isinstance(value, float) and not math.isfinite(value)):
                raise ConfigError(f"hparams.{key} must be a finite number, a string or true/false, got {value!r}")


def defaults_yaml() -> str:
    """``suites/_defaults.yaml``: every key with its default and help, as YAML (a test keeps the file equal)."""
    lines = ["# Every key a suite file or the command line may set, with its default. Generated from harness/spec.py",
             "# (`python -m harness.spec > suites/_defaults.yaml`); suite files need not include it."]
    for key, default, text in keys():
        *section, leaf = key.split(".")
        if section and not any(line.startswith(f"{section[0]}:") for line in lines):
            lines.append(f"{section[0]}:")
        item = f"{'  ' * len(section)}{leaf}: {default}"
        lines.append(f"{item:<28} # {text}" if text else item)
    return "\n".join(lines) + "\n"


def keys(section=RunSpec, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, help) of every key a suite file or the command line may set, in declaration order."""
    out = []
    for f in dataclasses.fields(section):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            out += keys(type(default), f"{prefix}{f.name}.")
        elif f.name != "name":
            shown = json.dumps(list(default) if isinstance(default, tuple) else default)
            out.append((f"{prefix}{f.name}", shown, f.metadata.get("help", "")))
    return out


# --------------------------------------------------------------------------- one training run


CHINCHILLA_UNITS_PER_PARAM = 20
COMMON_HPARAMS = ("lr", "weight_decay", "momentum", "warmup")
NOT_IDENTITY = ("evals", "time_limit_s", "device", "codecarbon", "country", "baseline",  # do not change
                "search_space", "tuning_seeds", "tuning_repeats")  # what is trained
NEW_DEFAULTS = {"precision": "fp32", "compile": False, "repeat": 0, "branches": ()}  # added later: at their
# default, ids stay as they were


@dataclass
class Trial:
    """Everything that determines one training run (its id is a hash of all of it)."""

    suite: str
    workload: str
    scale: str
    budget_multiple: float
    budget_tokens: int
    method: str
    kind: str
    optimizer: str
    schedule: str
    training_method: str | None
    hparams: dict
    seed: int
    phase: str = "tune"
    suite_version: str = "1"
    baseline: str = ""  # the suite's baseline method (recorded, so that rows alone say what they compare to)
    study_id: str = ""
    tuning_trials: int = 0
    tuning_protocol: str = ""
    batch_size: int | None = None
    evals: int = 10
    warmup_steps: int = 2
    divergence_factor: float = 3.0
    time_limit_s: float = 3600.0
    device: str = "cpu"
    data: dict = field(default_factory=dict)
    codecarbon: bool = True
    country: str = "USA"
    precision: str = "fp32"
    compile: bool = False  # torch.compile the model's forward
    search_space: str = ""  # ``space_json`` of the study's search space (recorded: "possibly undertuned" reads it)
    repeat: int = 0  # which of the study's repeated tuning studies (tuning.repeats) this trial belongs to
    tuning_seeds: int = 0  # the seeds and repeats per study the suite planned (verify's first look; recorded)
    tuning_repeats: int = 0
    branches: tuple = ()  # (budget multiple, budget tokens, study id) of each cooldown branch of this trunk

    def __post_init__(self):
        self.branches = tuple(tuple(b) for b in self.branches)  # as JSON brings them back (lists): the same id

    @property
    def trial_id(self) -> str:
        identity = {k: v for k, v in asdict(self).items()
                    if k not in NOT_IDENTITY and not (k in NEW_DEFAULTS and v == NEW_DEFAULTS[k])}
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def branch_id(parent: str, budget_multiple: float) -> str:
    """The trial id of a trunk's cooldown branch at ``budget_multiple``."""
    return hashlib.sha256(f"{parent}|branch|{budget_multiple:g}".encode()).hexdigest()[:16]


def identity_row(trial: Trial) -> dict:
    hp = trial.hparams
    return {
        "trial_id": trial.trial_id,
        "suite": trial.suite,
        "suite_version": str(trial.suite_version),
        "baseline": trial.baseline or None,
        "phase": trial.phase,
        "workload": trial.workload,
        "scale": trial.scale,
        "budget_tokens": trial.budget_tokens,
        "budget_multiple": trial.budget_multiple,
        "method": trial.method,
        "kind": trial.kind,
        "optimizer": trial.optimizer,
        "schedule": trial.schedule,
        "training_method": trial.training_method,
        "seed": trial.seed,
        "study_id": trial.study_id,
        "tuning_trials": trial.tuning_trials,
        "tuning_protocol": trial.tuning_protocol,
        "repeat": trial.repeat,
        "tuning_seeds": trial.tuning_seeds or None,
        "tuning_repeats": trial.tuning_repeats or None,
        "batch_size": trial.batch_size,
        "hparams_json": json.dumps(hp, sort_keys=True, default=str),
        "search_space_json": trial.search_space or None,
        **{f"hp_{k}": float(hp[k]) if isinstance(hp.get(k), int | float) else None for k in COMMON_HPARAMS},
    }


if __name__ == "__main__":
    print(defaults_yaml(), end="")
