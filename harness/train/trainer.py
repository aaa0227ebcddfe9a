"""The one training loop: owns data, clock, budget and evaluation; calls the method's hooks.

A trial = (workload, scale, budget, method, hyperparameters, seed) -> one result row. Failures
are data: divergence (NaN/inf, or the loss exceeding ``divergence_factor`` x its first value),
out-of-memory, time limit and exceptions all become a row with their ``status``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from harness.contracts import registry
from harness.contracts.adapters import optimizer_state_bytes
from harness.contracts.interface import Method
from harness.spec import Trial, branch_id, identity_row
from harness.train import workloads
from harness.train.hardware import contention, hardware_metadata, load_avg, mfu
from harness.train.measure import Meter

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}  # bf16: autocast of forward and loss, fp32 weights
CHECK_EVERY = {"cpu": 1}  # steps between host reads of the loss (divergence check) by device type; else 32


class Diverged(Exception):
    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class TimeLimit(Exception):
    pass


def _components(trial: Trial) -> dict[str, Method]:
    parts = {"optimizer": registry.get("optimizer", trial.optimizer),
             "schedule": registry.get("schedule", trial.schedule)}
    if trial.training_method:
        parts["method"] = registry.get("method", trial.training_method)
    return parts


def impl_hash(parts: dict[str, Method]) -> str:
    """Hash of the source files of the methods a trial used (their name where no file exists)."""
    digest = hashlib.sha256()
    for method in parts.values():
        path = registry.ROOT / registry.FOLDERS[method.kind] / f"{method.name}.py"
        digest.update(path.read_bytes() if path.is_file() else method.name.encode())
    return digest.hexdigest()[:16]


def build_task(trial: Trial) -> tuple:
    """The trial's task built from its seed, with the CPU and numpy RNG states right after building."""
    torch.manual_seed(trial.seed)
    np.random.seed(trial.seed)
    data = {**trial.data, "batch_size": trial.batch_size}
    task = workloads.load(trial.workload).build(trial.scale, trial.seed, data)
    return task, (torch.get_rng_state(), np.random.get_state())


def _prepare(trial: Trial, parts: dict[str, Method], device: torch.device, built: tuple | None = None):
    """Hooks and optimizers on a task from the seed alone: ``built`` (``build_task``'s, used as is; the warm-up gets
    a deep copy of it) or a fresh build. The RNGs are put back where building left them, so both give the same run.
    """
    task, (cpu_rng, np_rng) = built or build_task(trial)
    torch.set_rng_state(cpu_rng)
    np.random.set_state(np_rng)
    torch.cuda.manual_seed_all(trial.seed)  # building runs on CPU: CUDA's generator is as manual_seed left it
    hooks = None
    model = task.model
    if "method" in parts:
        hooks = parts["method"].hooks(**parts["method"].hparams(trial.hparams))
        model = hooks.setup(model, task)
        task.groups = _regroup(model, task)
    model.to(device)
    opt_method = parts["optimizer"]
    built = opt_method.build(task.groups, **opt_method.hparams(trial.hparams))
    opts = built if isinstance(built, list | tuple) else [built]
    _check_ownership(model, opts)
    for opt in opts:
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
    return task, model, hooks, opts


def _regroup(model, task):
    """Roles after a training method transformed the model (new layers keep the role rules)."""
    from harness.train.workloads.base import split_roles

    return split_roles(model, **task.extra.get("roles", {}))


def _check_ownership(model, opts) -> None:
    owners: dict[int, int] = {}
    for opt in opts:
        for g in opt.param_groups:
            for p in g["params"]:
                owners[id(p)] = owners.get(id(p), 0) + 1
    for name, p in model.named_parameters():
        if p.requires_grad and owners.get(id(p), 0) != 1:
            raise RuntimeError(f"parameter {name} is owned by {owners.get(id(p), 0)} optimizers, expected 1")


def _to(batch, device: torch.device):
    if device.type == "cpu":
        return batch
    return tuple(b.to(device, non_blocking=True) for b in batch)


def autocast(trial: Trial, device: torch.device):
    """bf16 autocast (forward, loss, evaluation) when ``trial.precision == "bf16"``; weights and optimizer stay fp32."""
    dtype = PRECISIONS[trial.precision]
    return torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()


def _check(losses: list, first: float | None, factor: float, step: int) -> tuple[float, float]:
    """One host read of the losses since the last check (steps ``step - len + 1 .. step``): ``(last, first)``;
    raises ``Diverged`` at the first one that is not finite or above ``factor`` x the first loss."""
    on_device = all(torch.is_tensor(v) for v in losses)
    values = torch.stack(losses).tolist() if on_device else [float(v) for v in losses]
    losses.clear()
    for i, value in enumerate(values):
        first = value if first is None else first
        if not math.isfinite(value) or value > factor * max(first, 1e-12):
            at = step - len(values) + 1 + i
            raise Diverged(f"train loss {value:.4g} at step {at} (first {first:.4g})", at)
    return values[-1], first


class _Stepper:
    """One trial's model, hooks and optimizers, and what a step does with them: the method's batch, the schedule's
    learning rate, then the method's ``update`` or the standard forward, backward and step; and evaluation."""

    def __init__(self, trial: Trial, parts: dict[str, Method], device: torch.device, prepared: tuple,
                 pilot: dict | None, grad_norms: list | None):
        self.task, self.model, self.hooks, self.opts = prepared
        self.device, self.grad_norms = device, grad_norms
        self.forward = torch.compile(self.model) if trial.compile else self.model
        self.cast = autocast(trial, device)
        self.schedule = parts["schedule"]
        self.sched_hp = _schedule_hparams(trial, self.schedule, self.task, pilot)
        needs = parts["optimizer"].needs_for(trial.hparams)
        self.create_graph = "create_graph" in needs
        self.order = 1 if trial.hparams.get("norm", "l2") == "l1" else 2  # of the recorded gradient norms
        self.current: list = [None]  # the step's batch (``sampled_loss`` draws on it)
        if "sampled_loss" in needs:  # a closure without self: no reference cycle keeps a finished run's memory
            task, model, current = self.task, self.model, self.current
            for opt in self.opts:
                opt.set_sampled_loss(lambda: task.sampled_loss(model, current[0]))

    def next_batch(self, batches, progress: float):
        """The step's batch: the workload told its progress first, on the device, through the method's ``batch``."""
        if self.task.set_progress is not None:
            self.task.set_progress(progress)
        batch = _to(next(batches), self.device)
        self.current[0] = self.hooks.batch(batch, progress) if self.hooks is not None else batch
        return self.current[0]

    def set_lr(self, progress: float) -> None:
        """Each group's learning rate: its initial one x the schedule's multiplier (x the method's ``lr_factor``)."""
        mult = self.schedule.multiplier(progress, **self.sched_hp) * (
            self.hooks.lr_factor if self.hooks is not None else 1.0)
        for opt in self.opts:
            for g in opt.param_groups:
                g["lr"] = g["initial_lr"] * mult

    def update(self, batch, progress: float):
        """One update of the weights on ``batch`` (the method's own, else backpropagation); its loss."""
        if self.hooks is not None and self.hooks.update is not None:
            with self.cast:
                return self.hooks.update(self.model, batch, self.opts, progress)
        return self._backprop(batch, progress)

    def _backprop(self, batch, progress: float):
        """The standard step: forward, backward, the method's hooks around the optimizers' step."""
        hooks, model = self.hooks, self.model
        with backward_context(self.create_graph):
            with self.cast:
                loss = self.task.loss(self.forward, batch)
            for opt in self.opts:
                opt.zero_grad(set_to_none=True)
            loss.backward(create_graph=self.create_graph)
        if self.grad_norms is not None:
            self.grad_norms.append(self._grad_norm())
        if hooks is not None:
            hooks.after_backward(model, progress)
        for opt in self.opts:
            opt.step()
        if self.create_graph:
            model.zero_grad(set_to_none=True)  # break the grad <-> graph cycle of create_graph
        if hooks is not None:
            hooks.after_step(model, progress)
        return loss

    def _grad_norm(self) -> float:
        """The l1 or l2 norm (the ``norm`` hyperparameter) of all gradients together."""
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        return float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g, self.order) for g in grads]), self.order))

    def evaluate(self) -> tuple:
        """``(val_loss, val_metric, further columns)`` in eval mode, under the method's evaluation weights."""
        self.model.eval()
        with self.hooks.eval_weights(self.model) if self.hooks is not None else nullcontext(), self.cast:
            val_loss, val_metric, *more = self.task.evaluate(self.model)
            evaluated = more[0] if more else {}
        self.model.train()
        return val_loss, val_metric, evaluated


def _schedule_hparams(trial: Trial, schedule: Method, task, pilot: dict | None) -> dict:
    """The schedule's hyperparameters, with the pilot run's and (where it needs them) ``total_steps``."""
    hp = {**schedule.hparams(trial.hparams), **(pilot or {})}
    if "total_steps" in schedule.needs:  # schedules defined per step (onecycle's phase ends, as torch's)
        hp["total_steps"] = math.ceil(max(trial.budget_tokens, 1) / task.units_per_step)
    return hp


def _eval_due(done: int, eval_at: list[float], seen: int, budget: int) -> bool:
    """Whether evaluation number ``done + 1`` is due: its units are seen, or the budget is spent."""
    return done < len(eval_at) and (seen >= eval_at[done] or seen >= budget)


@dataclass
class _Fork:
    """Where a run is at one moment, for a cooldown branch to go on from (``Trial.branches``): the model and
    optimizers (copied), the loop's counters, the curve so far, the clock and energy so far, the random state."""

    units: float  # the branch starts once the trunk has seen this many units
    budget: tuple  # (budget multiple, budget tokens, study id) of the branch
    state: dict = field(default_factory=dict)


def _train(trial: Trial, parts: dict[str, Method], device: torch.device, warmup: bool = False,
           pilot: dict | None = None, grad_norms: list | None = None, built: tuple | None = None,
           forks: list[_Fork] | None = None, resume: dict | None = None) -> dict:
    """Train until the budget (tokens or examples) is spent; ``warmup`` runs a few untimed steps only.

    ``pilot`` is handed to the schedule (``pilot_grad_norms``); ``grad_norms``, when a list, receives
    every step's gradient norm (``grad_norm`` of the schedule's hyperparameters: l1 or l2). ``forks``: the state at
    each fork's units is kept in it (before the step that passes them); ``resume``: a fork's state to go on from.
    """
    prepared = resume["prepared"] if resume else _prepare(trial, parts, device, built)
    stepper = _Stepper(trial, parts, device, prepared, pilot, grad_norms)
    task, hooks = stepper.task, stepper.hooks
    budget, check_every = max(trial.budget_tokens, 1), CHECK_EVERY.get(device.type, 32)
    eval_at = [budget * i / trial.evals for i in range(1, trial.evals + 1)]  # units seen at each evaluation
    batches = task.batches(trial.seed)
    curve = {k: [] for k in ("step", "tokens", "time_s", "energy_j", "val_loss", "train_loss")}
    losses: list = []  # since the last check, on the device
    val_metric, first_loss, status, error, seen, step, value = None, None, "ok", None, 0, 0, None
    evaluated: dict = {}  # further columns the workload's evaluate reports (the last evaluation's)
    if resume:
        step, seen, first_loss, value, curve = resume["step"], resume["seen"], resume["first_loss"], resume["value"], \
            copy.deepcopy(resume["curve"])
        _restore(resume, batches)
    done = sum(1 for u in eval_at if u <= seen) if resume else 0  # evaluations behind this run
    meter = None if warmup else Meter(device, codecarbon=trial.codecarbon, country_iso_code=trial.country)
    offset = (resume["time_s"], resume["energy_j"]) if resume else (0.0, 0.0)
    stepper.model.train()
    if meter:
        meter.start()
    try:
        while seen < budget and not (warmup and step >= trial.warmup_steps):
            while forks and seen >= forks[0].units:  # a cooldown branch goes on from here
                forks.pop(0).state = _keep(stepper, step, seen, first_loss, value, curve, meter, offset)
            # -- one step
            step += 1
            progress = seen / budget
            batch = stepper.next_batch(batches, progress)
            stepper.set_lr(progress)
            loss = stepper.update(batch, progress)
            seen += getattr(hooks, "units_last_step", task.units_per_step)
            losses.append(loss.detach().float() if torch.is_tensor(loss) else float(loss))
            # -- divergence: a host read of the losses at the first step, every check_every steps, at evaluations
            due = meter is not None and _eval_due(done, eval_at, seen, budget)
            if due or first_loss is None or len(losses) >= check_every or seen >= budget:
                value, first_loss = _check(losses, first_loss, trial.divergence_factor, step)
            if meter is None:
                continue
            meter.step()
            if not due:
                continue
            # -- evaluation, off the clock
            meter.pause()  # stop the clock
            done += 1
            val_loss, val_metric, evaluated = stepper.evaluate()
            clock = (offset[0] + meter.elapsed_s(), _plus(offset[1], meter.energy_so_far_j()))
            for key, v in zip(curve, (step, seen, *clock, val_loss, value)):
                curve[key].append(v)
            if not math.isfinite(val_loss):
                raise Diverged(f"validation loss {val_loss} at step {step}", step)
            if meter.elapsed_s() > trial.time_limit_s:
                raise TimeLimit(f"time limit {trial.time_limit_s}s passed at step {step}, {seen} of {budget} units")
            if seen < budget:
                meter.resume()  # start the clock
    except Diverged as exc:
        status, error, step = "diverged", str(exc), exc.step
    except TimeLimit as exc:
        status, error = "timeout", str(exc)
    finally:
        measured = meter.stop() if meter is not None else {}
    if warmup:
        return {}
    if resume and measured:  # the branch's clock and energy go on from the trunk's at the fork
        measured["train_time_s"] = offset[0] + (measured.get("train_time_s") or 0.0)
        measured["energy_j"] = _plus(offset[1], measured.get("energy_j"))
    return _row(stepper, measured, curve, status, error, step, seen, val_metric, evaluated)


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _keep(stepper: _Stepper, step: int, seen: int, first_loss, value, curve: dict, meter, offset: tuple) -> dict:
    """A fork's state: copies of the model, hooks and optimizers; the counters, curve, clock and random state."""
    task, model, hooks, opts = copy.deepcopy((stepper.task, stepper.model, stepper.hooks, stepper.opts))
    return {"prepared": (task, model, hooks, opts), "step": step, "seen": seen, "first_loss": first_loss,
            "value": value, "curve": copy.deepcopy(curve),
            "time_s": offset[0] + (meter.elapsed_s() if meter else 0.0),
            "energy_j": _plus(offset[1], meter.energy_so_far_j() if meter else 0.0),
            "rng": (torch.get_rng_state(), np.random.get_state())}


def _restore(state: dict, batches) -> None:
    """Go on as the trunk did at the fork: its random state, its data stream at the same batch."""
    torch.set_rng_state(state["rng"][0])
    np.random.set_state(state["rng"][1])
    for _ in range(state["step"]):
        next(batches)


def _row(stepper: _Stepper, measured: dict, curve: dict, status: str, error: str | None, step: int, seen: int,
         val_metric, evaluated: dict) -> dict:
    """The trial's result row: the meter's columns, the outcome, the curve and what reaching the target cost."""
    task = stepper.task
    first, crossing = target_crossing(curve["val_loss"], task.target)
    done = step if status == "ok" else step - 1
    return {
        **measured,
        "status": status,
        "error": error,
        "params": task.params,
        "final_val_loss": curve["val_loss"][-1] if status == "ok" and curve["val_loss"] else None,
        "final_val_metric": val_metric if status == "ok" else None,
        "val_metric_name": task.metric_name,
        "target_value": task.target,
        "chance_loss": task.chance_loss,
        "reached_target": first is not None,
        "steps": done,
        "tokens": seen,
        "flops": seen * task.flops_per_unit,
        "steps_to_target": curve["step"][first] if first is not None else None,
        "time_to_target_s": curve["time_s"][first] if first is not None else None,
        "energy_to_target_j": curve["energy_j"][first] if first is not None else None,
        "steps_to_target_lo": (curve["step"][first - 1] if first else 0) if first is not None else None,
        "time_to_target_lo_s": (curve["time_s"][first - 1] if first else 0.0) if first is not None else None,
        "energy_to_target_lo_j": (curve["energy_j"][first - 1] if first else 0.0) if first is not None else None,
        "target_crossing": crossing,
        "optimizer_state_bytes": optimizer_state_bytes(stepper.opts),
        "data_fingerprint": task.data_fingerprint,
        **(evaluated if status == "ok" else {}),
        **_method_columns(stepper.hooks),
        **{f"curve_{k}": v for k, v in curve.items()},
    }


def target_crossing(val_losses: list[float], target: float) -> tuple[int | None, float | None]:
    """Where a curve first reaches ``target``: (the index of the first evaluation at or below it, or None; the
    fraction of the way from the evaluation before it where the loss, linear between the two, crosses the target:
    None when the first evaluation is already at or below it, so the crossing lies anywhere before it)."""
    first = next((i for i, v in enumerate(val_losses) if v <= target), None)
    if not first:
        return first, None
    above, below = val_losses[first - 1], val_losses[first]
    return first, float((above - target) / (above - below)) if above > below else 1.0


def _method_columns(hooks) -> dict:
    """What a training method reports about itself (communication, simulated formats)."""
    if hooks is None:
        return {}
    simulated = getattr(hooks, "simulated", None)
    return {
        "bytes_communicated": getattr(hooks, "bytes_communicated", None),
        "communication_rounds": getattr(hooks, "communication_rounds", None),
        "simulated": ",".join(sorted(k for k, v in simulated.items() if v)) if isinstance(simulated, dict) else None,
    }


def backward_context(create_graph: bool):
    """Fused attention kernels have no double backward: Hessian-vector products need the math kernel."""
    return sdpa_kernel(SDPBackend.MATH) if create_graph else nullcontext()


def _pilot(trial: Trial, parts: dict[str, Method], device: torch.device) -> dict | None:
    """For schedules refined from a pilot run: the same trial under linear decay, its gradient norms."""
    if "pilot_grad_norms" not in getattr(parts["schedule"], "needs", ()):
        return None
    norms: list[float] = []
    _train(replace(trial, codecarbon=False), {**parts, "schedule": registry.get("schedule", "linear")}, device,
           grad_norms=norms)
    return {"pilot_grad_norms": tuple(norms)}


def _forks(trial: Trial, parts: dict[str, Method]) -> list[_Fork]:
    """Where each cooldown branch leaves the trunk: at (1 - decay) of its own budget, the decay being the
    schedule's (a warmup-stable-decay schedule: until then the trunk's learning rate is the branch's)."""
    decay = parts["schedule"].hparams(trial.hparams).get("decay")
    if trial.branches and decay is None:
        raise ValueError(f"branches need a warmup-stable-decay schedule (one with a decay), not {trial.schedule}")
    return [_Fork(units=(1 - decay) * tokens, budget=(multiple, tokens, study))
            for multiple, tokens, study in sorted(trial.branches)]


def _branch(trial: Trial, parts: dict[str, Method], device: torch.device, pilot: dict | None, fork: _Fork,
            run_id: str) -> dict:
    """The row of one cooldown branch: a run of the branch's budget that went on from the trunk at the fork."""
    multiple, tokens, study = fork.budget
    mine = replace(trial, budget_multiple=multiple, budget_tokens=tokens, study_id=study, branches=())
    row = identity_row(mine) | {"trial_id": branch_id(trial.trial_id, multiple), "parent_trial": trial.trial_id,
                                "run_id": run_id, "started_at": datetime.now(UTC).isoformat()}
    return row | _train(mine, parts, device, pilot=pilot, resume=fork.state)


def run_trial(trial: Trial, run_id: str = "") -> dict:
    """Run one trial (untimed warm-up on a throwaway copy first) and return its result row; a trunk with
    ``branches`` also returns its cooldown branches' rows under ``"branches"``."""
    row = identity_row(trial) | {"run_id": run_id, "started_at": datetime.now(UTC).isoformat()}
    device = torch.device(trial.device)
    loads = [load_avg()]
    try:
        parts = _components(trial)
        row["impl_hash"] = impl_hash(parts)
        pilot = _pilot(trial, parts, device)
        built = build_task(trial)  # once: the warm-up trains a copy (a workload's closures are shared, not copied)
        _train(trial, parts, device, warmup=True, pilot=pilot, built=(copy.deepcopy(built[0]), built[1]))
        forks = _forks(trial, parts)
        row.update(_train(trial, parts, device, pilot=pilot, built=built, forks=list(forks)))
        if forks:
            row["branches"] = [_branch(trial, parts, device, pilot, f, run_id) | {"impl_hash": row["impl_hash"]}
                               for f in forks if f.state]
    except (torch.OutOfMemoryError, MemoryError) as exc:
        row.update(status="oom", error=(str(exc).splitlines() or [type(exc).__name__])[0])
    except Exception as exc:  # a failing trial is a row, never a crashed suite
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        row.update(status="error", error=f"{type(exc).__name__}: {exc} ({tb.filename}:{tb.lineno})")
    loads.append(load_avg())
    for done in (row, *row.get("branches", ())):
        done.update(hardware_metadata(device), **contention([x for x in loads if x is not None]))
        if done.get("train_time_s"):
            done["mfu"] = mfu(done["flops"] / done["train_time_s"], device, PRECISIONS[trial.precision])
    return row
