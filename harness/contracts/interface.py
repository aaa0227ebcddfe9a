"""The three contracts every method implements, plus the data it carries.

A method never sees the clock, the data loader, the evaluation or the budget: the trainer owns
those (AlgoPerf's submission/workload split). Each file in ``implementations/<kind>/`` defines one
module-level ``METHOD``; its name is the file stem.

- ``Optimizer``: ``build(groups, **hp) -> torch.optim.Optimizer | list[Optimizer]`` where
  ``groups`` maps a role (``matrix``, ``embedding``, ``head``, ``scalar``) to parameters.
- ``Schedule``: ``multiplier(progress, **hp) -> float`` with ``progress = step / total_steps``.
- ``TrainingMethod``: a class with optional hooks (see ``TrainingHooks``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

ROLES = ("matrix", "embedding", "head", "scalar")
METRICS = ("data", "steps", "time", "energy", "quality", "overhead", "memory", "communication", "forgetting")


def param_groups(groups, weight_decay: float) -> list[dict]:
    """Parameter groups with weight decay on matrices, embeddings and head; none on scalars (gains, biases).

    The usual split for an optimizer's ``build(groups, ...)``: ``torch.optim.X(param_groups(groups, wd), ...)``.
    """
    decayed = [p for role in ("matrix", "embedding", "head") for p in groups.get(role, [])]
    out = [{"params": decayed, "weight_decay": weight_decay}]
    if groups.get("scalar"):
        out.append({"params": list(groups["scalar"]), "weight_decay": 0.0})
    return [g for g in out if g["params"]]


# --------------------------------------------------------------------------- search spaces


@dataclass(frozen=True)
class LogUniform:
    """A float drawn log-uniformly from [low, high]."""

    low: float
    high: float

    def from_unit(self, u: float) -> float:
        return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from [low, high]."""

    low: float
    high: float

    def from_unit(self, u: float) -> float:
        return float(self.low + u * (self.high - self.low))


@dataclass(frozen=True)
class Choice:
    """One of a fixed list of values."""

    values: tuple

    def from_unit(self, u: float) -> Any:
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]


Space = LogUniform | Uniform | Choice


def space_json(space: dict[str, Space]) -> str:
    """A search space as JSON, recorded with every trial: {"lr": {"LogUniform": [1e-4, 1e-2]}, ...}."""
    return json.dumps({k: {type(d).__name__: list(d.values) if isinstance(d, Choice) else [d.low, d.high]}
                       for k, d in sorted(space.items())}, default=str)


def space_from_json(text: str) -> dict[str, Space]:
    """``space_json`` read back (unknown distributions are skipped)."""
    kinds = {"LogUniform": LogUniform, "Uniform": Uniform, "Choice": lambda *v: Choice(tuple(v))}
    return {k: kinds[name](*args) for k, spec in json.loads(text).items() for name, args in spec.items()
            if name in kinds}


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """A quantitative statement from a paper, checked by ``harness verify``.

    Args:
        quote: the paper's own words.
        factor: the claimed factor (``2.0`` = "2x"), or for ``quality`` claims the claimed delta in
            the workload metric's units, positive = better (accuracy as a fraction: ``0.02`` = 2 points).
        metric: one of ``METRICS`` (``data`` = Fantastic-Optimizers data speedup).
        baseline: the method name the claim is measured against.
        setting: where the paper made the claim.
        source: the paper (title, venue/arXiv id).
        scale_params: model size of the claim in parameters (for the ``scaled-down`` label).
        suite: the suite that checks it.
        hardware: ``gpu`` when wall-clock/energy was measured on GPUs (judged only from GPU runs).
        note: how what is checked here differs from what the paper states (shown with every verdict).
        form: what the words claim: ``better`` (superiority: the effect is at least ``factor``), ``matches``
            ("matches or beats": non-inferiority, the method is no worse than the baseline by more than
            ``margin``) or ``up_to`` (the best case reaches ``factor``: judged as ``better`` here, said as "up to").
        margin: for ``matches``: the largest shortfall that still matches, in the metric's units (None: the
            engine's default, ``harness.stats.claims.MATCH_MARGIN``).
    """

    quote: str
    factor: float
    metric: str
    baseline: str
    setting: str
    source: str
    scale_params: float | None = None
    suite: str = "optimizers"
    hardware: Literal["any", "gpu"] = "any"
    note: str = ""
    form: Literal["better", "matches", "up_to"] = "better"
    margin: float | None = None


def claim_table(rows: list[dict[str, Any]], **shared: Any) -> tuple[Claim, ...]:
    """A method's claims declared as a table: one row per claim holding the fields that vary, in order;
    ``shared`` holds the fields every row has in common (a field in both raises ``TypeError``).

    ``claim_table([dict(factor=2.0, metric="steps"), dict(factor=2.0, metric="time")], quote=..., ...)``
    """
    return tuple(Claim(**row, **shared) for row in rows)


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Method:
    """What every registered method carries."""

    defaults: dict[str, Any]
    search_space: dict[str, Space]
    citation: str
    summary: str = ""
    claims: tuple[Claim, ...] = ()
    name: str = ""  # filled in by the registry (= file stem)

    kind: str = field(default="", init=False)

    def hparams(self, hp: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid by the entries of ``hp`` that this method declares."""
        return {**self.defaults, **{k: v for k, v in hp.items() if k in self.defaults}}


@dataclass(frozen=True)
class Optimizer(Method):
    """``build(groups, **hp)`` returns one ``torch.optim.Optimizer`` or a list of them.

    ``needs`` asks the trainer for more than gradients:
    ``create_graph`` — the backward is run with ``create_graph=True`` (Hessian-vector products);
    ``sampled_loss`` — after building, the trainer calls ``opt.set_sampled_loss(fn)``; ``fn()``
    returns the loss of the current batch with labels drawn from the model's own predictive
    distribution (Gauss-Newton-Bartlett estimators), unreduced (one loss per token or example),
    computed with a fresh forward pass. ``needs`` may be a function of the hyperparameters.
    """

    build: Callable[..., Any] = None  # type: ignore[assignment]
    needs: tuple[str, ...] | Callable[[dict], tuple[str, ...]] = ()

    def needs_for(self, hp: dict[str, Any]) -> tuple[str, ...]:
        """``needs`` for these hyperparameters (it may be a function of them, e.g. Sophia's estimator)."""
        return tuple(self.needs(self.hparams(hp)) if callable(self.needs) else self.needs)
    kind: str = field(default="optimizer", init=False)


@dataclass(frozen=True)
class Schedule(Method):
    """``multiplier(progress, **hp)`` is a pure function of ``progress`` in [0, 1].

    ``needs`` names what the trainer must hand over beyond progress (``pilot_grad_norms`` for
    schedules refined from a pilot run; ``total_steps`` for schedules defined per step).
    """

    multiplier: Callable[..., float] = None  # type: ignore[assignment]
    needs: tuple[str, ...] = ()
    kind: str = field(default="schedule", init=False)


class TrainingHooks:
    """Base class of training methods; every hook is optional and the defaults do nothing.

    The trainer calls, in order: ``setup`` once after the model is built; per step ``batch``,
    then either ``update(model, batch, optimizers, progress) -> loss`` when a subclass defines
    it (it replaces forward/backward/step: backprop-free and multi-worker methods) or the standard
    forward/backward with ``after_backward`` before and ``after_step`` after the optimizer step;
    ``eval_weights`` wraps every evaluation (timed separately, like AlgoPerf's prepare_for_eval).
    ``lr_factor`` multiplies the schedule's learning rate for the step whose ``batch`` just ran.
    """

    update = None
    lr_factor = 1.0

    def __init__(self, **hp: Any) -> None:
        self.hp = hp

    def setup(self, model, workload) -> Any:  # may return a transformed model
        return model

    def batch(self, batch, progress: float):
        return batch

    def after_backward(self, model, progress: float) -> None:
        return None

    def after_step(self, model, progress: float) -> None:
        return None

    def eval_weights(self, model):
        from contextlib import nullcontext

        return nullcontext()


@dataclass(frozen=True)
class TrainingMethod(Method):
    """``hooks(**hp)`` builds the ``TrainingHooks`` instance of one trial.

    ``architecture`` names the native architecture the method needs (its baseline is then
    plain backprop on that same architecture); empty means any workload model.
    """

    hooks: Callable[..., TrainingHooks] = None  # type: ignore[assignment]
    architecture: str = ""
    kind: str = field(default="method", init=False)


@dataclass(frozen=True)
class Unavailable:
    """A method whose file failed to import: listed with the reason, never a crash."""

    name: str
    kind: str
    reason: str
