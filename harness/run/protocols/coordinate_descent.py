"""``coordinate_descent``, the protocol of "Fantastic Pretraining Optimizers and Where to Find Them"
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
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd

from harness.contracts.interface import Choice, LogUniform, Space
from harness.run import studies as expansion
from harness.run.protocols import Protocol, rounded, seeds_text
from harness.spec import RunSpec, Trial


def grid_values(dim: Space, points: int) -> list:
    """A search-space dimension as a grid: Choice -> its values; LogUniform/Uniform -> ``points`` points."""
    if isinstance(dim, Choice):
        return list(dim.values)
    spaced = np.geomspace if isinstance(dim, LogUniform) else np.linspace
    return [rounded(float(v)) for v in spaced(dim.low, dim.high, points)]


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


def descend(start: dict, space: dict[str, Space], points: int, budget: int, loss) -> tuple[list[dict], list[dict]]:
    """(the configurations coordinate descent runs next, every one it has run so far); the first is ``[]`` once it
    has converged or spent ``budget``.

    ``loss(config)`` is the stored final validation loss (``inf`` for a failed trial), ``None`` when the
    configuration has not run yet. Replays every round from ``start``, so the answer depends on the
    stored losses alone.
    """
    tried: dict[str, tuple[dict, float]] = {}  # in the order proposed: ties go to the earlier
    incumbent = dict(start)
    while True:
        new = [c for c in star(incumbent, space, points) if _key(c) not in tried][: budget - len(tried)]
        waiting = [c for c in new if loss(c) is None]
        done = [c for c, _ in tried.values()]
        if waiting or not new:
            return waiting, done + [c for c in new if c not in waiting]
        tried.update({_key(c): (c, loss(c)) for c in new})
        best = min(tried.values(), key=lambda entry: entry[1])[0]
        if best == incumbent:
            return [], [c for c, _ in tried.values()]
        incumbent = best


def _losses(rows: pd.DataFrame) -> dict[str, float]:
    """Stored trial id -> final validation loss (``inf`` for a failed trial)."""
    if rows.empty:
        return {}
    ok = (rows["status"] == "ok") & rows["final_val_loss"].notna()
    return dict(zip(rows["trial_id"], rows["final_val_loss"].where(ok, math.inf).astype(float)))


class CoordinateDescent(Protocol):
    ids_known = False

    def proposals(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        """Every study's next coordinate-descent trials (none once it has converged or spent its budget)."""
        return self._descents(spec, studies, rows)[0]

    def proposed(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        """Every trial the descents have run so far (the ones a study's best configuration is chosen among)."""
        return self._descents(spec, studies, rows)[1]

    def _descents(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> tuple[list[Trial], list[Trial]]:
        losses, out, ran = _losses(rows), [], []
        for study in studies:
            space = expansion.tuned_space(spec, study)
            parts = expansion.parts(spec, study.method)
            defaults = {k: v for role in spec.tuning.tune for k, v in parts[role].defaults.items()}
            middle = {k: grid_values(d, spec.tuning.grid_points) for k, d in space.items()}
            start = {k: defaults[k] if k in defaults else middle[k][len(middle[k]) // 2] for k in space}
            fixed = expansion.fixed_hparams(spec, study.method)

            def trial(config: dict, study=study, fixed=fixed) -> Trial:
                return replace(study, hparams={**config, **fixed}, phase="tune", seed=study.repeat)

            waiting, done = descend(start, space, spec.tuning.grid_points, spec.tuning.trials,
                                    lambda c, trial=trial: losses.get(trial(c).trial_id))
            out += [trial(c) for c in waiting]
            ran += [trial(c) for c in done]
        return out, ran

    def describe(self, spec: RunSpec, studies: list[Trial]) -> str:
        return (f"coordinate descent in {len(studies)} studies, at most {spec.tuning.trials} trials each, "
                f"then {seeds_text(spec)}")

    def planned(self, spec: RunSpec, studies: list[Trial]) -> tuple[list[Trial], list[Trial]]:
        """Its trials depend on the losses: each study's cap of ``tuning.trials`` stands for them."""
        return [s for s in studies for _ in range(spec.tuning.trials)], super().planned(spec, studies)[1]


PROTOCOL = CoordinateDescent()
