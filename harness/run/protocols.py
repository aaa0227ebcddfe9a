"""Tuning protocols: which trials a study runs, given the rows stored so far.

``quasirandom`` (``harness.run.tuning``): ``tuning.trials`` scrambled-Halton configurations per study, all
known upfront; the best is re-run with seeds.

``coordinate_descent``, the protocol of "Fantastic Pretraining Optimizers and Where to Find Them"
(Wen, Hall, Ma, Liang 2025): each tuned hyperparameter gets a grid (``Choice``: its values;
``LogUniform``/``Uniform``: ``tuning.grid_points`` log/linear points from low to high). Start from the
method's defaults (the incumbent). A round runs the incumbent and every configuration that changes one
hyperparameter to another grid value (the "star" around it); the new incumbent is the configuration
with the lowest final validation loss among all tried so far. It stops when a round leaves the incumbent
unchanged, or when the study has spent ``tuning.trials`` trials, the same cap for every method (a
truncated last round interleaves the hyperparameters, nearest grid values first, so none is skipped).
This is the Jacobi form of their code (marin-community/marin, ``marin/optimizer_sweep/utils_simp.py``:
``create_configs`` builds the baseline plus every one-key change of ``sweep_grids``; ``template.py``
moves the baseline to ``grab_best_run``'s best and repeats until the best config's sweep is complete),
whose rounds run in parallel; unlike theirs it has a trial cap (fairness rule 1) and no near-best tie
rule (their ``thshold=3e-3`` picks, among near-best configs, the one closest to finishing).

``grid``: the full factorial of ``tuning.grid`` (``batch_size`` sets the trial's batch size, every other
key is a hyperparameter), every cell run with seeds ``0..tuning.seeds-1``, no selection; rows have
``phase="grid"`` (the batch-size rule, ``harness.stats.batch_scaling``).

Every protocol is a pure function of the configuration and the stored rows: trial ids are content
hashes, so a rerun after a kill recomputes the same proposals and skips the stored ones.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
from omegaconf import DictConfig, ListConfig

from harness.contracts.interface import Choice, LogUniform, Space
from harness.errors import ConfigError, suggest
from harness.run import tuning
from harness.spec import Trial

PROTOCOLS = ("quasirandom", "coordinate_descent", "grid")
SPACING = {"logspace": np.logspace, "linspace": np.linspace}  # tuning.grid shorthands: {logspace: [lo, hi, n]}


def _round(value):
    """12 significant digits: the same trial id on every platform's float rounding."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def grid_values(dim: Space, points: int) -> list:
    """A search-space dimension as a grid: Choice -> its values; LogUniform/Uniform -> ``points`` points."""
    if isinstance(dim, Choice):
        return list(dim.values)
    spaced = np.geomspace if isinstance(dim, LogUniform) else np.linspace
    return [_round(float(v)) for v in spaced(dim.low, dim.high, points)]


def _unit(dim: Space, value) -> float:
    """Where ``value`` lies in ``dim``, in [0, 1] (the inverse of ``from_unit``); a default outside the range
    (sgd's weight decay 0 below LogUniform(1e-6, 1e-3)) counts as its nearest end."""
    if isinstance(dim, Choice):
        return dim.values.index(value) / max(len(dim.values) - 1, 1) if value in dim.values else 0.0
    if not isinstance(value, int | float):
        return 0.0
    value = min(max(value, dim.low), dim.high)
    if isinstance(dim, LogUniform):
        return (math.log(value) - math.log(dim.low)) / (math.log(dim.high) - math.log(dim.low))
    return (value - dim.low) / (dim.high - dim.low)


def _key(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def star(incumbent: dict, space: dict[str, Space], points: int) -> list[dict]:
    """The incumbent, then every one-hyperparameter change to another grid value.

    Hyperparameters are interleaved (round-robin in name order), each one's values nearest first.
    """
    moves = []
    for name, dim in sorted(space.items()):
        here = _unit(dim, incumbent[name])
        values = [v for v in grid_values(dim, points) if v != incumbent[name]]
        moves.append(sorted(values, key=lambda v: abs(_unit(dim, v) - here)))
    out = [dict(incumbent)]
    for row in itertools.zip_longest(*moves, fillvalue=None):
        for (name, _), value in zip(sorted(space.items()), row):
            if value is not None:
                out.append({**incumbent, name: value})
    return out


def descend(start: dict, space: dict[str, Space], points: int, budget: int, loss) -> list[dict]:
    """The configurations coordinate descent runs next; ``[]`` once it has converged or spent ``budget``.

    ``loss(config)`` is the stored final validation loss (``inf`` for a failed trial), ``None`` when the
    configuration has not run yet. Replays every round from ``start``, so the answer depends on the
    stored losses alone.
    """
    tried: dict[str, tuple[dict, float]] = {}  # in the order proposed: ties go to the earlier
    incumbent = dict(start)
    while True:
        new = [c for c in star(incumbent, space, points) if _key(c) not in tried][: budget - len(tried)]
        waiting = [c for c in new if loss(c) is None]
        if waiting:
            return waiting
        if not new:
            return []
        tried.update({_key(c): (c, loss(c)) for c in new})
        best = min(tried.values(), key=lambda entry: entry[1])[0]
        if best == incumbent:
            return []
        incumbent = best


def factorial(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values (keys in name order, the last one varying fastest)."""
    names = sorted(grid)
    return [dict(zip(names, cell)) for cell in itertools.product(*(grid[n] for n in names))]


def grid_axes(cfg) -> dict[str, list]:
    """``tuning.grid`` with ``{logspace|linspace: [lo, hi, n]}`` expanded to lists."""
    out = {}
    for name, spec in dict(cfg.tuning.grid).items():
        if isinstance(spec, DictConfig):
            (how, (lo, hi, n)), = spec.items()
            out[name] = [_round(float(v)) for v in SPACING[how](lo, hi, int(n))]
        else:
            out[name] = [_round(v) for v in spec]
    return out


# --------------------------------------------------------------------------- trials


def _tuned_space(cfg, study: Trial) -> dict[str, Space]:
    space = tuning.search_space(tuning._parts(cfg, study.method), list(cfg.tuning.tune))
    return {k: v for k, v in space.items() if k not in cfg.hparams}  # a fixed hyperparameter is not tuned


def _losses(rows: pd.DataFrame) -> dict[str, float]:
    """Stored trial id -> final validation loss (``inf`` for a failed trial)."""
    if rows.empty:
        return {}
    ok = (rows["status"] == "ok") & rows["final_val_loss"].notna()
    return dict(zip(rows["trial_id"], rows["final_val_loss"].where(ok, math.inf).astype(float)))


def descent_trials(cfg, rows: pd.DataFrame) -> list[Trial]:
    """Every study's next coordinate-descent trials (none once it has converged or spent its budget)."""
    losses, out = _losses(rows), []
    for study in tuning.studies(cfg):
        space = _tuned_space(cfg, study)
        parts = tuning._parts(cfg, study.method)
        defaults = {k: v for role in cfg.tuning.tune for k, v in parts[role].defaults.items()}
        middle = {k: grid_values(d, int(cfg.tuning.grid_points)) for k, d in space.items()}
        start = {k: defaults[k] if k in defaults else middle[k][len(middle[k]) // 2] for k in space}

        def trial(config: dict, study=study) -> Trial:
            return replace(study, hparams={**config, **tuning.fixed_hparams(cfg, study.method)}, phase="tune", seed=0)

        proposed = descend(start, space, int(cfg.tuning.grid_points), int(cfg.tuning.trials),
                           lambda c: losses.get(trial(c).trial_id))
        out += [trial(c) for c in proposed]
    return out


def grid_trials(cfg) -> list[Trial]:
    """Every study's factorial grid, each cell with seeds 0..K-1."""
    cells = factorial(grid_axes(cfg))
    out = []
    for study in tuning.studies(cfg):
        for cell in cells:
            hp = {k: v for k, v in cell.items() if k != "batch_size"}
            for seed in range(int(cfg.tuning.seeds)):
                fixed = tuning.fixed_hparams(cfg, study.method)
                out.append(replace(study, hparams={**hp, **fixed}, batch_size=cell.get("batch_size", study.batch_size),
                                   phase="grid", seed=seed, tuning_trials=len(cells)))
    return out


def proposals(cfg, rows: pd.DataFrame) -> list[Trial]:
    """The tuning (or grid) trials the suite's protocol wants stored, given the stored ``rows``."""
    if cfg.tuning.protocol == "coordinate_descent":
        return descent_trials(cfg, rows)
    if cfg.tuning.protocol == "grid":
        return grid_trials(cfg)
    return tuning.tune_trials(cfg)


def missing(cfg, rows: pd.DataFrame) -> list[Trial]:
    """The proposals not yet stored: empty once every study's tuning is complete."""
    stored = set(rows["trial_id"]) if len(rows) else set()
    return [t for t in proposals(cfg, rows) if t.trial_id not in stored]


def final_trials(cfg, rows: pd.DataFrame) -> list[Trial]:
    """The best configuration of every complete study re-run with seeds (a grid has no final phase)."""
    return [] if cfg.tuning.protocol == "grid" else tuning.final_trials(cfg, rows)


def describe(cfg) -> str:
    """What the protocol will run, for ``harness validate``."""
    studies = len(tuning.studies(cfg))
    if cfg.tuning.protocol == "grid":
        return f"{len(grid_trials(cfg))} grid trials ({studies} studies x cells x {cfg.tuning.seeds} seeds)"
    if cfg.tuning.protocol == "coordinate_descent":
        return (f"coordinate descent in {studies} studies, at most {cfg.tuning.trials} trials each, "
                f"then {cfg.tuning.seeds} seeds per study")
    return f"{studies * int(cfg.tuning.trials)} tuning trials, then {cfg.tuning.seeds} seeds per study"


# --------------------------------------------------------------------------- validation


def _scalar(value) -> bool:
    return isinstance(value, str | bool) or (isinstance(value, int | float) and math.isfinite(value))


def _check_axis(name: str, spec) -> None:
    where = f"tuning.grid.{name}"
    if isinstance(spec, DictConfig) and name == "batch_size":
        raise ConfigError(f"tuning.grid.batch_size must be a list of positive integers, got {spec!r}")
    if isinstance(spec, DictConfig):
        how = list(spec.keys())
        if len(how) != 1 or how[0] not in SPACING:
            raise ConfigError(f"{where} must be a list of values or {{logspace|linspace: [lo, hi, n]}}, got {spec!r}")
        args = spec[how[0]]
        ok = isinstance(args, ListConfig) and len(args) == 3 and all(
            isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a) for a in args)
        if not ok or not isinstance(args[2], int) or not 1 <= args[2] <= 1000:
            raise ConfigError(f"{where}.{how[0]} must be [lo, hi, n] with numbers lo, hi and an integer "
                              f"1 <= n <= 1000, got {args!r}")
        return
    if not isinstance(spec, ListConfig) or not spec or not all(_scalar(v) for v in spec):
        raise ConfigError(f"{where} must be a non-empty list of numbers or strings, got {spec!r}")
    if name == "batch_size" and not all(type(v) is int and 0 < v <= 10**5 for v in spec):  # stored as int64
        raise ConfigError(f"tuning.grid.batch_size must be positive integers up to 100000, got {list(spec)!r}")


def check(cfg) -> None:
    """Validate ``tuning.protocol``, ``tuning.grid_points`` and ``tuning.grid`` (one-line ConfigError)."""
    protocol, grid, points = cfg.tuning.protocol, cfg.tuning.grid, cfg.tuning.grid_points
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown tuning.protocol {protocol!r}{suggest(protocol, PROTOCOLS)}; available: "
                          + ", ".join(PROTOCOLS))
    if not isinstance(points, int) or isinstance(points, bool) or not 2 <= points <= 1000:
        raise ConfigError(f"tuning.grid_points must be an integer >= 2 and <= 1000, got {points!r}")
    if not isinstance(grid, DictConfig):
        raise ConfigError(f"tuning.grid must be a mapping of names to lists of values, got {grid!r}")
    if protocol != "grid":
        if grid:
            raise ConfigError(f"tuning.grid is only used with tuning.protocol=grid (the protocol is {protocol!r})")
        return
    if not grid:
        raise ConfigError("tuning.protocol=grid needs tuning.grid, e.g. {batch_size: [8, 32], lr: [0.01, 0.1]}")
    for name, spec in grid.items():
        _check_axis(str(name), spec)
    if "batch_size" in grid and cfg.train.batch_size is not None:
        raise ConfigError("tuning.grid.batch_size and train.batch_size are both set: keep one")
    for name in grid:
        if name in cfg.hparams:
            raise ConfigError(f"{name!r} is both fixed in hparams and a tuning.grid axis: keep one")
    for method in dict.fromkeys([cfg.baseline, *cfg.methods]):
        known = {"batch_size", *(k for p in tuning._parts(cfg, str(method)).values() for k in p.defaults)}
        for name in grid:
            if name not in known:
                raise ConfigError(f"tuning.grid.{name} is no hyperparameter of {method}{suggest(name, known)}")
