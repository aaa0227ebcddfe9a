"""``grid``: the full factorial of ``tuning.grid`` (``batch_size`` sets the trial's batch size, every other
key is a hyperparameter), every cell run with seeds ``0..tuning.seeds-1``, no selection; rows have
``phase="grid"`` (the batch-size rule, ``harness.stats.batch_scaling``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd

from harness.errors import ConfigError, counted, suggest
from harness.run import studies as expansion
from harness.run.protocols import Protocol, rounded
from harness.spec import RunSpec, Trial

SPACING = {"logspace": np.logspace, "linspace": np.linspace}  # tuning.grid shorthands: {logspace: [lo, hi, n]}


def factorial(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values (keys in name order, the last one varying fastest)."""
    names = sorted(grid)
    return [dict(zip(names, cell)) for cell in itertools.product(*(grid[n] for n in names))]


def grid_axes(spec: RunSpec) -> dict[str, list]:
    """``tuning.grid`` with ``{logspace|linspace: [lo, hi, n]}`` expanded to lists."""
    out = {}
    for name, axis in spec.tuning.grid.items():
        if isinstance(axis, dict):
            (how, (lo, hi, n)), = axis.items()
            out[name] = [rounded(float(v)) for v in SPACING[how](lo, hi, int(n))]
        else:
            out[name] = [rounded(v) for v in axis]
    return out


def _scalar(value) -> bool:
    return isinstance(value, str | bool) or (isinstance(value, int | float) and math.isfinite(value))


def _check_axis(name: str, axis) -> None:
    where = f"tuning.grid.{name}"
    if isinstance(axis, dict) and name == "batch_size":
        raise ConfigError(f"tuning.grid.batch_size must be a list of positive integers, got {axis!r}")
    if isinstance(axis, dict):
        how = list(axis.keys())
        if len(how) != 1 or how[0] not in SPACING:
            raise ConfigError(f"{where} must be a list of values or {{logspace|linspace: [lo, hi, n]}}, got {axis!r}")
        args = axis[how[0]]
        ok = isinstance(args, list) and len(args) == 3 and all(
            isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a) for a in args)
        if not ok or not isinstance(args[2], int) or not 1 <= args[2] <= 1000:
            raise ConfigError(f"{where}.{how[0]} must be [lo, hi, n] with numbers lo, hi and an integer "
                              f"1 <= n <= 1000, got {args!r}")
        return
    if not isinstance(axis, list) or not axis or not all(_scalar(v) for v in axis):
        raise ConfigError(f"{where} must be a non-empty list of numbers or strings, got {axis!r}")
    if name == "batch_size" and not all(type(v) is int and 0 < v <= 10**5 for v in axis):  # stored as int64
        raise ConfigError(f"tuning.grid.batch_size must be positive integers up to 100000, got {list(axis)!r}")


class Grid(Protocol):
    final_phase = False

    def check(self, spec: RunSpec) -> None:
        grid = spec.tuning.grid
        if spec.tuning.repeats != 1:
            raise ConfigError("tuning.repeats is for tuning protocols that select; a grid runs every cell with seeds")
        if not grid:
            raise ConfigError("tuning.protocol=grid needs tuning.grid, e.g. {batch_size: [8, 32], lr: [0.01, 0.1]}")
        for name, axis in grid.items():
            _check_axis(str(name), axis)
        if "batch_size" in grid and spec.train.batch_size is not None:
            raise ConfigError("tuning.grid.batch_size and train.batch_size are both set: keep one")
        for name in grid:
            if name in spec.hparams:
                raise ConfigError(f"{name!r} is both fixed in hparams and a tuning.grid axis: keep one")
        for method in dict.fromkeys([spec.baseline, *spec.methods]):
            known = {"batch_size", *(k for p in expansion.parts(spec, method).values() for k in p.defaults)}
            for name in grid:
                if name not in known:
                    raise ConfigError(f"tuning.grid.{name} is no hyperparameter of {method}{suggest(name, known)}")

    def proposals(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        """Every study's factorial grid, each cell with seeds 0..K-1."""
        cells = factorial(grid_axes(spec))
        out = []
        for study in studies:
            fixed = expansion.fixed_hparams(spec, study.method)
            for cell in cells:
                hp = {k: v for k, v in cell.items() if k != "batch_size"}
                for seed in range(spec.tuning.seeds):
                    out.append(replace(study, hparams={**hp, **fixed}, batch_size=cell.get("batch_size",
                                       study.batch_size), phase="grid", seed=seed, tuning_trials=len(cells)))
        return out

    def describe(self, spec: RunSpec, studies: list[Trial]) -> str:
        trials = len(studies) * len(factorial(grid_axes(spec))) * spec.tuning.seeds
        return (f"{counted(trials, 'grid trial')} ({counted(len(studies), 'study', 'studies')} x cells x "
                f"{counted(spec.tuning.seeds, 'seed')})")


PROTOCOL = Grid()
