"""A trial: everything that determines one training run, and the identity columns of its row.

Shared by the planner (``harness.run``), which makes trials without importing torch, and the trainer that runs them.
The trial id is a hash of every field but ``NOT_IDENTITY``; fields added later hash only when they leave their
default (``NEW_DEFAULTS``), so rows stored before them keep their ids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

CHINCHILLA_UNITS_PER_PARAM = 20
COMMON_HPARAMS = ("lr", "weight_decay", "momentum", "warmup")
NOT_IDENTITY = ("evals", "time_limit_s", "device", "codecarbon", "country", "baseline",  # do not change
                "search_space")  # what is trained
NEW_DEFAULTS = {"precision": "fp32", "compile": False}  # fields added later: at their default, ids stay as they were


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

    @property
    def trial_id(self) -> str:
        identity = {k: v for k, v in asdict(self).items()
                    if k not in NOT_IDENTITY and not (k in NEW_DEFAULTS and v == NEW_DEFAULTS[k])}
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


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
        "batch_size": trial.batch_size,
        "hparams_json": json.dumps(hp, sort_keys=True, default=str),
        "search_space_json": trial.search_space or None,
        **{f"hp_{k}": float(hp[k]) if isinstance(hp.get(k), int | float) else None for k in COMMON_HPARAMS},
    }
