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
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from harness import cache
from harness.contracts import catalog, registry
from harness.contracts.interface import Space, space_json
from harness.spec import CHINCHILLA_UNITS_PER_PARAM, Trial
from harness.train import workloads


def search_space(parts: dict[str, catalog.Entry], tune: list[str]) -> dict[str, Space]:
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


def _parts(cfg, method: str) -> dict[str, catalog.Entry]:
    """The components of one study, as the catalog describes them: the fixed ones of the suite, with ``method``
    in its role."""
    parts = {"optimizer": catalog.entry("optimizer", cfg.optimizer),
             "schedule": catalog.entry("schedule", cfg.schedule)}
    if cfg.training_method:
        parts["training"] = catalog.entry("method", cfg.training_method)
    parts[ROLE[cfg.kind]] = parts["method"] = catalog.entry(cfg.kind, method)
    return parts


def _template(cfg, method: str) -> tuple[Trial, tuple]:
    """A study of ``method`` but for its workload, scale and budget; and what its study id holds fixed."""
    parts = _parts(cfg, method)
    train = OmegaConf.to_container(cfg.train, resolve=True)
    precision, compiled = str(train.get("precision", "fp32")), bool(train.get("compile", False))
    trial = Trial(
        suite=cfg.name,
        suite_version=str(cfg.version),
        baseline=str(cfg.baseline),
        workload="",
        scale="",
        budget_multiple=0.0,
        budget_tokens=0,
        method=method,
        kind=cfg.kind,
        optimizer=parts["optimizer"].name,
        schedule=parts["schedule"].name,
        training_method=parts["training"].name if "training" in parts else None,
        hparams={},
        seed=0,
        tuning_trials=int(cfg.tuning.trials),
        tuning_protocol=str(cfg.tuning.protocol),
        batch_size=train["batch_size"],
        evals=int(train["evals"]),
        warmup_steps=int(train["warmup_steps"]),
        divergence_factor=float(train["divergence_factor"]),
        time_limit_s=float(train["time_limit_s"]),
        device=str(train["device"]),
        codecarbon=bool(train["codecarbon"]),
        country=str(train["country"]),
        precision=precision,
        search_space=space_json(search_space(parts, list(cfg.tuning.tune))),
        compile=compiled,
        data={k: v for k, v in OmegaConf.to_container(cfg.data).items() if v is not None},
    )
    # bf16 and compiled runs are their own studies (fp32 eager adds nothing, so older study ids stay)
    numerics = (*([precision] if precision != "fp32" else []), *(["compile"] if compiled else []))
    return trial, (trial.optimizer, trial.schedule, cfg.training_method, *numerics)


def studies(cfg) -> list[Trial]:
    """One template trial per study (method x workload x scale x budget), hyperparameters empty."""
    out = []
    data = {**OmegaConf.to_container(cfg.data), "batch_size": cfg.train.batch_size}
    templates = {m: _template(cfg, m) for m in dict.fromkeys([cfg.baseline, *cfg.methods])}
    for workload, spec in cfg.workloads.items():
        for scale in spec.scales:
            params = workloads.sizes(workload, scale, data)[0]
            extra = [b for b in spec.get("baseline_budgets") or () if b not in spec.budgets]  # the baseline's alone
            for budget in [*spec.budgets, *extra]:
                for method in templates if budget in spec.budgets else [cfg.baseline]:
                    template, fixed = templates[method]
                    out.append(replace(template, workload=workload, scale=scale, budget_multiple=float(budget),
                                       budget_tokens=int(round(budget * CHINCHILLA_UNITS_PER_PARAM * params)),
                                       study_id=study_id(cfg.name, workload, scale, float(budget), method, fixed)))
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
