"""Equal-budget tuning: the same number of quasi-random trials for every method, then K seeds.

For each study (method, workload, scale, budget) ``trials`` configurations are drawn from the
method's own search space by a scrambled Halton sequence (``scipy.stats.qmc``) with the suite's
fixed seed, so every method gets the same sampler and the same count. The best configuration is
the one with the lowest final validation loss at the end of its schedule (no early stopping); it is
re-run with ``seeds`` fresh seeds (1..K — never the tuning seed 0, so the winner's lucky seed does
not bias the final numbers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pandas as pd
from omegaconf import OmegaConf
from scipy.stats import qmc

from harness.contracts import registry
from harness.contracts.interface import Method, Space, space_json
from harness.train.trainer import CHINCHILLA_UNITS_PER_PARAM, Trial, workload_module


def search_space(parts: dict[str, Method], tune: list[str]) -> dict[str, Space]:
    """The union of the search spaces of the components named in ``tune`` (``method``, ``optimizer``, ...)."""
    space: dict[str, Space] = {}
    for role in tune:
        space.update(parts[role].search_space)
    return dict(sorted(space.items()))


def quasirandom(space: dict[str, Space], n: int, seed: int) -> list[dict]:
    """``n`` configurations from a scrambled Halton sequence over ``space``."""
    if not space:
        return [{} for _ in range(n)]
    points = qmc.Halton(d=len(space), scramble=True, seed=seed).random(n)
    return [{k: dim.from_unit(float(u)) for (k, dim), u in zip(space.items(), row)} for row in points]


def study_id(suite: str, workload: str, scale: str, budget: float, method: str, fixed: tuple = ()) -> str:
    """Identifies one study; ``fixed`` holds the components the suite holds fixed (optimizer, ...)."""
    key = json.dumps([suite, workload, scale, budget, method, *fixed])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def best_hparams(rows: pd.DataFrame) -> dict[str, dict]:
    """``{study_id: hparams}`` of the tuning trial with the lowest final validation loss per study."""
    ok = rows[(rows["phase"] == "tune") & (rows["status"] == "ok") & rows["final_val_loss"].notna()]
    best = ok.sort_values(["final_val_loss", "trial_id"]).groupby("study_id", sort=False).head(1)
    return {r.study_id: json.loads(r.hparams_json) for r in best.itertuples()}


# --------------------------------------------------------------------------- expansion


ROLE = {"optimizer": "optimizer", "schedule": "schedule", "method": "training"}


def _parts(cfg, method: str) -> dict[str, Method]:
    """The components of one study: the fixed ones of the suite, with ``method`` in its role."""
    parts = {"optimizer": registry.get("optimizer", cfg.optimizer), "schedule": registry.get("schedule", cfg.schedule)}
    if cfg.training_method:
        parts["training"] = registry.get("method", cfg.training_method)
    parts[ROLE[cfg.kind]] = parts["method"] = registry.get(cfg.kind, method)
    return parts


def _base_trial(cfg, workload: str, scale: str, budget: float, method: str, params: int) -> Trial:
    parts = _parts(cfg, method)
    return Trial(
        suite=cfg.name,
        suite_version=str(cfg.version),
        baseline=str(cfg.baseline),
        workload=workload,
        scale=scale,
        budget_multiple=float(budget),
        budget_tokens=int(round(budget * CHINCHILLA_UNITS_PER_PARAM * params)),
        method=method,
        kind=cfg.kind,
        optimizer=parts["optimizer"].name,
        schedule=parts["schedule"].name,
        training_method=parts["training"].name if "training" in parts else None,
        hparams={},
        seed=0,
        study_id=study_id(cfg.name, workload, scale, float(budget), method,
                          (parts["optimizer"].name, parts["schedule"].name, cfg.training_method,
                           *_numerics(cfg))),
        tuning_trials=int(cfg.tuning.trials),
        tuning_protocol=str(cfg.tuning.protocol),
        batch_size=cfg.train.batch_size,
        evals=int(cfg.train.evals),
        warmup_steps=int(cfg.train.warmup_steps),
        divergence_factor=float(cfg.train.divergence_factor),
        time_limit_s=float(cfg.train.time_limit_s),
        device=str(cfg.train.device),
        codecarbon=bool(cfg.train.codecarbon),
        country=str(cfg.train.country),
        precision=str(cfg.train.get("precision", "fp32")),
        search_space=space_json(search_space(parts, list(cfg.tuning.tune))),
        compile=bool(cfg.train.get("compile", False)),
        data={k: v for k, v in dict(cfg.data).items() if v is not None},
    )


def _numerics(cfg) -> tuple:
    """What separates studies beyond the components: bf16 and compiled runs are their own studies (fp32 eager adds
    nothing, so older study ids stay)."""
    precision, compiled = str(cfg.train.get("precision", "fp32")), bool(cfg.train.get("compile", False))
    return (*([precision] if precision != "fp32" else []), *(["compile"] if compiled else []))


def studies(cfg) -> list[Trial]:
    """One template trial per study (method x workload x scale x budget), hyperparameters empty."""
    out = []
    for workload, spec in cfg.workloads.items():
        module = workload_module(workload)
        for scale in spec.scales:
            params = module.build(scale, 0, OmegaConf.to_container(cfg.data)).params
            extra = [b for b in spec.get("baseline_budgets") or () if b not in spec.budgets]  # the baseline's alone
            for budget in [*spec.budgets, *extra]:
                for method in dict.fromkeys([cfg.baseline, *cfg.methods]) if budget in spec.budgets else [cfg.baseline]:
                    out.append(_base_trial(cfg, workload, scale, budget, method, params))
    return out


def fixed_hparams(cfg, method: str) -> dict:
    """The suite's fixed hyperparameters, then a variant's own (``name(key=value)``), recorded with each trial."""
    return {**cfg.hparams, **registry.variant(method)[1]}


def tune_trials(cfg) -> list[Trial]:
    """Every study's tuning trials: the same count and sampler for every method."""
    out = []
    for study in studies(cfg):
        space = search_space(_parts(cfg, study.method), list(cfg.tuning.tune))
        for hp in quasirandom(space, int(cfg.tuning.trials), int(cfg.tuning.seed)):
            out.append(replace(study, hparams={**hp, **fixed_hparams(cfg, study.method)}, phase="tune", seed=0))
    return out


def final_trials(cfg, rows: pd.DataFrame) -> list[Trial]:
    """The best tuning configuration of every finished study, re-run with seeds 1..K."""
    best = best_hparams(rows) if len(rows) else {}
    return [
        replace(study, hparams=best[study.study_id], phase="final", seed=seed)
        for study in studies(cfg)
        if study.study_id in best
        for seed in range(1, int(cfg.tuning.seeds) + 1)
    ]
