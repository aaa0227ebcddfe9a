"""Study expansion: a run specification becomes its studies, once per run.

A study is one method at one (workload, scale, budget); ``expand`` makes one template ``Trial`` per study (its
hyperparameters empty), which the tuning protocol (``harness.run.protocols``) fills with configurations and seeds.
The components of a study are the suite's fixed optimizer, schedule and training method with the compared method
in its role (``parts``); its search space is the union of the spaces named in ``tuning.tune``. ``check`` is the
owner's validation of what names methods: every name known to the catalog (variants spelled one way) and every
fixed hyperparameter a hyperparameter of some component.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path

from harness import cache
from harness.contracts import catalog, registry
from harness.contracts.interface import Space, space_json
from harness.errors import ConfigError, suggest
from harness.spec import CHINCHILLA_UNITS_PER_PARAM, RunSpec, Trial
from harness.train import workloads

ROLE = {"optimizer": "optimizer", "schedule": "schedule", "method": "training"}


def search_space(parts: dict[str, catalog.Entry], tune) -> dict[str, Space]:
    """The union of the search spaces of the components named in ``tune`` (``method``, ``optimizer``, ...)."""
    space: dict[str, Space] = {}
    for role in tune:
        space.update(parts[role].search_space)
    return dict(sorted(space.items()))


def quasirandom(space: dict[str, Space], n: int, seed: int) -> list[dict]:
    """``n`` configurations from a scrambled Halton sequence over ``space``."""
    key = json.dumps([len(space), n, seed])
    points = cache.remember("halton", [Path(__file__)], key, lambda: _halton(len(space), n, seed))
    return [{k: dim.from_unit(float(u)) for (k, dim), u in zip(space.items(), row)} for row in points] if space \
        else [{} for _ in range(n)]


def _halton(d: int, n: int, seed: int) -> list[list[float]]:
    """``n`` points of ``scipy.stats.qmc.Halton`` in ``d`` dimensions (scipy.stats takes 0.6 s to import: cached)."""
    from scipy.stats import qmc

    return qmc.Halton(d=d, scramble=True, seed=seed).random(n).tolist() if d else [[] for _ in range(n)]


def study_id(suite: str, workload: str, scale: str, budget: float, method: str, fixed: tuple = (), repeat: int = 0
             ) -> str:
    """Identifies one study; ``fixed`` holds the components the suite holds fixed (optimizer, ...); a repeated
    tuning study (``repeat`` > 0) is a study of its own."""
    key = json.dumps([suite, workload, scale, budget, method, *fixed, *(["repeat", repeat] if repeat else [])])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def parts(spec: RunSpec, method: str) -> dict[str, catalog.Entry]:
    """The components of one study, as the catalog describes them: the fixed ones of the suite, with ``method``
    in its role."""
    out = {"optimizer": catalog.entry("optimizer", spec.optimizer),
           "schedule": catalog.entry("schedule", spec.schedule)}
    if spec.training_method:
        out["training"] = catalog.entry("method", spec.training_method)
    out[ROLE[spec.kind]] = out["method"] = catalog.entry(spec.kind, method)
    return out


def fixed_hparams(spec: RunSpec, method: str) -> dict:
    """The suite's fixed hyperparameters, then a variant's own (``name(key=value)``), recorded with each trial."""
    return {**spec.hparams, **registry.variant(method)[1]}


def tuned_space(spec: RunSpec, study: Trial) -> dict[str, Space]:
    """The space a study's tuning searches: its components' spaces, less the suite's fixed hyperparameters."""
    space = search_space(parts(spec, study.method), spec.tuning.tune)
    return {k: v for k, v in space.items() if k not in spec.hparams}


def _template(spec: RunSpec, method: str) -> tuple[Trial, tuple]:
    """A study of ``method`` but for its workload, scale and budget; and what its study id holds fixed."""
    own, train = parts(spec, method), spec.train
    trial = Trial(
        suite=spec.name, suite_version=spec.version, baseline=spec.baseline, workload="", scale="",
        budget_multiple=0.0, budget_tokens=0, method=method, kind=spec.kind, optimizer=own["optimizer"].name,
        schedule=own["schedule"].name, training_method=own["training"].name if "training" in own else None,
        hparams={}, seed=0, tuning_trials=spec.tuning.trials, tuning_protocol=spec.tuning.protocol,
        batch_size=train.batch_size, evals=train.evals, warmup_steps=train.warmup_steps,
        divergence_factor=float(train.divergence_factor), time_limit_s=float(train.time_limit_s),
        device=train.device, codecarbon=train.codecarbon, country=train.country, precision=train.precision,
        search_space=space_json(search_space(own, spec.tuning.tune)), compile=train.compile,
        data={k: v for k, v in vars(spec.data).items() if v is not None},
        tuning_seeds=spec.tuning.seeds, tuning_repeats=spec.tuning.repeats,
    )
    # bf16 and compiled runs are their own studies (fp32 eager adds nothing, so older study ids stay)
    numerics = (*([train.precision] if train.precision != "fp32" else []), *(["compile"] if train.compile else []))
    return trial, (trial.optimizer, trial.schedule, spec.training_method, *numerics)


def data_of(spec: RunSpec) -> dict:
    """What a workload is built with: ``data`` and the batch size."""
    return {**vars(spec.data), "batch_size": spec.train.batch_size}


def expand(spec: RunSpec) -> list[Trial]:
    """One template trial per study (method x workload x scale x budget x repeat, the baseline also at its extra
    budgets), hyperparameters empty."""
    out = []
    templates = {m: _template(spec, m) for m in dict.fromkeys([spec.baseline, *spec.methods])}
    for workload, ws in spec.workloads.items():
        for scale in ws.scales:
            params = workloads.sizes(workload, scale, data_of(spec))[0]
            extra = [b for b in ws.baseline_budgets or () if b not in ws.budgets]  # the baseline's alone
            for budget in [*ws.budgets, *extra]:
                for method in templates if budget in ws.budgets else [spec.baseline]:
                    template, fixed = templates[method]
                    out += [replace(template, workload=workload, scale=scale, budget_multiple=float(budget),
                                    budget_tokens=int(round(budget * CHINCHILLA_UNITS_PER_PARAM * params)), repeat=r,
                                    study_id=study_id(spec.name, workload, scale, float(budget), method, fixed, r))
                            for r in range(spec.tuning.repeats)]
    return out


# --------------------------------------------------------------------------- the owner's checks


def canonical(spec: RunSpec) -> RunSpec:
    """``spec`` with every method checked against the catalog and spelled one way (a variant's keys sorted: one
    study); a ``ConfigError`` names an unknown or unavailable one, or a fixed hyperparameter no component has."""
    wanted = [(spec.kind, m) for m in [*spec.methods, spec.baseline]]
    wanted += [("optimizer", spec.optimizer), ("schedule", spec.schedule)]  # tuning builds the fixed ones too
    wanted += [("method", spec.training_method)] if spec.training_method else []
    for role, name in wanted:
        try:
            catalog.entry(role, name)
        except KeyError as exc:
            raise ConfigError(exc.args[0]) from None
    if not spec.methods:
        raise ConfigError("no methods to run (methods= is empty)")
    spec = replace(spec, methods=tuple(catalog.entry(spec.kind, m).name for m in spec.methods),
                   baseline=catalog.entry(spec.kind, spec.baseline).name)
    _check_hparams(spec)
    return spec


def _check_hparams(spec: RunSpec) -> None:
    """Every fixed hyperparameter is one of a component the suite holds fixed or of some method of its kind (a
    suite-wide setting stays valid when ``method=`` leaves its method out; ``hparams.lrr`` is a typo); where a
    component of this run has a number as its default, a number."""
    known, numeric = set(), set()
    for entry in catalog.catalog()[spec.kind].values():
        known.update(entry.defaults, entry.search_space)
    for method in dict.fromkeys([spec.baseline, *spec.methods]):
        for part in parts(spec, method).values():
            known.update(part.defaults, part.search_space)
            numeric.update(k for k, v in part.defaults.items() if _is_number(v))
    for key, value in spec.hparams.items():
        if key not in known:
            raise ConfigError(f"unknown key 'hparams.{key}': no {spec.kind} of this suite has a hyperparameter "
                              f"{key!r}{suggest(key, sorted(known))}")
        if key in numeric and not _is_number(value):
            raise ConfigError(f"hparams.{key} must be a number, got {value!r}")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
