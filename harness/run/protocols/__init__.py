"""Tuning protocols as plugins: which trials a study runs, given the rows stored so far.

One file per protocol in this folder, each defining ``PROTOCOL`` (a ``Protocol``); its name is the file stem and
the value of ``tuning.protocol`` (``get``; discovery walks the folder, like methods). A protocol is a pure function
of the run specification, its studies (``harness.run.studies.expand``) and the stored rows: trial ids are content
hashes, so a rerun after a kill recomputes the same proposals and skips the stored ones.

The interface: ``check`` (the protocol's own ``tuning.*`` options), ``proposals`` (the tuning trials it wants
stored), ``final_trials`` (the best configuration of every complete study re-run with seeds 1..K), ``describe``
(what it will run, for ``harness validate``) and ``planned`` (the tuning and final trials a plan counts before
anything is stored).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pandas as pd

from harness.errors import ConfigError, counted, suggest
from harness.run import studies as expansion
from harness.spec import RunSpec, Trial, branch_id

FOLDER = Path(__file__).parent


class Protocol:
    """A tuning protocol; subclasses implement ``proposals`` and may override the rest."""

    final_phase = True  # its best configurations are re-run with seeds (a grid has none)
    ids_known = True  # its tuning trial ids are known before anything runs (coordinate descent: they are not)

    branches = False  # whether its trials may be trunks with cooldown branches (train.branches)

    def check(self, spec: RunSpec) -> None:
        """Validate the protocol's ``tuning.*`` options and ``train.branches`` (one-line ``ConfigError``)."""
        if spec.tuning.grid:
            raise ConfigError(f"tuning.grid is only used with tuning.protocol=grid (the protocol is "
                              f"{spec.tuning.protocol!r})")
        if spec.train.branches and not self.branches:
            raise ConfigError(f"train.branches needs tuning.protocol=quasirandom (its trials are known upfront), "
                              f"not {spec.tuning.protocol}")
        if spec.train.branches and (spec.kind != "optimizer" or spec.training_method or "decay" not in
                                    expansion.parts(spec, spec.baseline)["schedule"].defaults):
            raise ConfigError("train.branches needs optimizers compared under a warmup-stable-decay schedule "
                              "(schedule=wsd), no training method")

    def proposals(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        """The tuning trials the protocol wants stored, given the stored ``rows``."""
        raise NotImplementedError

    def proposed(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        """Every tuning trial the protocol asks for (stored or not): a study's best is chosen among these only."""
        return self.proposals(spec, studies, rows)

    def final_trials(self, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
        """The best tuning configuration of every finished study (lowest final validation loss at the end of its
        schedule, no early stopping) among the trials this protocol proposes (tuning identity: rows of a run with
        other tuning settings never count), re-run with ``final_seeds``: never a tuning seed, so a lucky seed does
        not bias the final numbers."""
        if not self.final_phase or not len(rows):
            return []
        best = best_hparams(rows[rows["trial_id"].isin(trial_ids(self.proposed(spec, studies, rows)))])
        return trunks(spec, [replace(study, hparams=best[study.study_id], phase="final", seed=seed)
                             for study in studies if study.study_id in best
                             for seed in final_seeds(study, spec.tuning.seeds)])

    def describe(self, spec: RunSpec, studies: list[Trial]) -> str:
        return f"{len(studies) * spec.tuning.trials} tuning trials, then {seeds_text(spec)}"

    def planned(self, spec: RunSpec, studies: list[Trial]) -> tuple[list[Trial], list[Trial]]:
        """(tuning trials, final trials) to count before any is stored; a final trial stands for one seed of its
        study (its configuration is not known yet)."""
        final = [replace(s, phase="final", seed=seed) for s in studies for seed in final_seeds(s, spec.tuning.seeds)
                 ] if self.final_phase else []
        return self.proposals(spec, studies, pd.DataFrame(columns=["trial_id", "status", "final_val_loss"])), \
            trunks(spec, final)


def seeds_text(spec: RunSpec) -> str:
    """"3 seeds per study", "1 seed per study (3 repeated tuning studies per method and budget)"."""
    r = spec.tuning.repeats
    return f"{counted(spec.tuning.seeds, 'seed')} per study" + (f" ({r} repeated tuning studies per method and "
                                                                 "budget)" if r > 1 else "")


def final_seeds(study: Trial, seeds: int) -> range:
    """The seeds of a study's final re-runs: 1..K, and for its r-th repeated tuning study r·K+1 .. r·K+K (every
    final row of a method and budget has a seed of its own)."""
    return range(study.repeat * seeds + 1, study.repeat * seeds + seeds + 1)


def best_hparams(rows: pd.DataFrame) -> dict[str, dict]:
    """``{study_id: hparams}`` of the tuning trial with the lowest final validation loss per study."""
    ok = rows[(rows["phase"] == "tune") & (rows["status"] == "ok") & rows["final_val_loss"].notna()]
    best = ok.sort_values(["final_val_loss", "trial_id"]).groupby("study_id", sort=False).head(1)
    return {r.study_id: json.loads(r.hparams_json) for r in best.itertuples()}


def trunks(spec: RunSpec, trials: list[Trial]) -> list[Trial]:
    """With ``train.branches``: the trials of one method, workload, scale, repeat, configuration, seed and phase at
    several budgets become one trunk at the largest, with a cooldown branch at each other budget (its row is that
    budget's trial: ``harness.train.trainer``); without it, ``trials`` as they are."""
    if not spec.train.branches:
        return trials
    groups: dict[tuple, list[Trial]] = {}
    for t in trials:
        key = (t.method, t.workload, t.scale, t.repeat, json.dumps(t.hparams, sort_keys=True), t.seed, t.phase)
        groups.setdefault(key, []).append(t)
    out = []
    for group in groups.values():
        top, *rest = sorted(group, key=lambda t: -t.budget_tokens)
        out.append(replace(top, branches=tuple((t.budget_multiple, t.budget_tokens, t.study_id) for t in rest)))
    return out


def trial_ids(trials: list[Trial]) -> set[str]:
    """The ids of ``trials`` and of their cooldown branches' rows."""
    return {t.trial_id for t in trials} | {branch_id(t.trial_id, b[0]) for t in trials for b in t.branches}


def missing(protocol: Protocol, spec: RunSpec, studies: list[Trial], rows: pd.DataFrame) -> list[Trial]:
    """The proposals not yet stored: empty once every study's tuning is complete."""
    stored = set(rows["trial_id"]) if len(rows) else set()
    return [t for t in protocol.proposals(spec, studies, rows) if t.trial_id not in stored]


@cache
def registry() -> dict[str, Protocol]:
    """``{name: Protocol}`` for every file of this folder (a name is its file stem)."""
    modules = sorted(p.stem for p in FOLDER.glob("*.py") if not p.stem.startswith("_"))
    return {name: importlib.import_module(f"{__name__}.{name}").PROTOCOL for name in modules}


def get(name: str) -> Protocol:
    """The protocol called ``name``; a ``ConfigError`` with a "did you mean" when there is none."""
    protocols = registry()
    if name not in protocols:
        raise ConfigError(f"unknown tuning.protocol {name!r}{suggest(name, protocols)}; available: "
                          + ", ".join(protocols))
    return protocols[name]


def rounded(value):
    """12 significant digits: the same trial id on every platform's float rounding."""
    return float(f"{value:.12g}") if isinstance(value, float) else value
