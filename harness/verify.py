"""``harness verify method=NAME``: run what a method's claims need, then one verdict per claim and scale.

Budgets are designed for the claim: for a data claim of c at a method budget D, the baseline also runs at
D·2^j, j = -1 .. ceil(log2(MARGIN_UP·c)) (0.5D .. >= 1.5cD), so that the claimed factor lies inside the
baseline's measured budgets and is tested by interpolation, never extrapolation (``baseline_budgets`` of the
suite's workloads); the design whose calibration docs/statistics.md measures ("planned").

Seeds are sequential: every study starts with ``tuning.seeds``; while a claim's verdict at a scale is still
undecided for statistical reasons, one more seed is added to that scale's studies (method and baselines), up
to ``verify.max_seeds``. Each look judges at the confidence that keeps the false-support rate of the whole
sequence at most 5% (``harness.stats.speedup.look_confidence``: 95% first, then Bonferroni over the added looks).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from harness import config, report, store
from harness.contracts import catalog, registry
from harness.errors import ConfigError, suggest
from harness.spec import RunSpec
from harness.stats import claims
from harness.stats.replications import beside
from harness.stats.speedup import look_confidence
from harness.store import published

MARGIN_UP = 1.5  # the baseline's largest budget reaches 50% beyond the claimed factor
NOT_BY_SEEDS = ("needs a GPU run", "simulated", "the claim is in accuracy", "not run in this suite")  # seeds won't help


def baseline_budgets(budgets, factors) -> list[float]:
    """The baseline's budgets for data claims of ``factors`` at method ``budgets``: D·2^j, j = -1 .. ceil(log2(
    MARGIN_UP·c)) for each D, with c the largest factor (none when no factor exceeds 1)."""
    top = max([f for f in factors if f > 1], default=0.0)
    if not top:
        return []
    steps = range(-1, max(1, math.ceil(math.log2(MARGIN_UP * top))) + 1)
    return sorted({float(d) * 2.0**j for d in budgets for j in steps})


def design_budgets(spec: RunSpec, mine) -> RunSpec:
    """``spec`` with every workload given the baseline budgets the data claims in ``mine`` need."""
    factors = [c.factor for c in mine if c.metric in ("data", "steps")]  # steps: judged on data when no target
    designed = {}
    for name, ws in spec.workloads.items():
        extra = baseline_budgets(list(ws.budgets), factors)
        designed[name] = replace(ws, baseline_budgets=tuple(sorted({*(ws.baseline_budgets or ()), *extra}))) \
            if extra else ws
    return replace(spec, workloads=designed)


def find_method(name: str):
    for kind, entries in registry.registry().items():
        if name in entries:
            return registry.get(kind, name)
    every = [n for entries in registry.registry().values() for n in entries]
    raise ConfigError(f"unknown method {name!r}{suggest(name, every)}")


def _known(kind: str, name: str) -> bool:
    """Whether ``name`` (a method or a variant ``name(key=value)``) is a method of ``kind``."""
    try:
        return bool(registry.get(kind, name))
    except KeyError:
        return False


def _undecided(summary: pd.DataFrame, per_budget: pd.DataFrame) -> list[tuple[str, str]]:
    """(workload, scale) pairs with an inconclusive claim that more seeds could decide (not one that needs a
    GPU, or is about a simulated format or another unit)."""
    keys = ["quote", "claimed", "workload", "scale"]
    if summary.empty or not {*keys, "reason"} <= set(per_budget):
        return []
    reasons = per_budget.groupby(keys)["reason"].apply(" ".join)
    open_ = summary[summary["verdict"] == "inconclusive"]
    return sorted({(r["workload"], r["scale"]) for _, r in open_.iterrows()
                   if not any(x in reasons.get(tuple(r[k] for k in keys), "") for x in NOT_BY_SEEDS)})


def _judge(rows: pd.DataFrame, method: str, mine, look: int, looks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_budget = report.verdicts(rows, method, mine, confidence=look_confidence(look, looks))
    return per_budget, claims.summarize(per_budget)


def verify_suite(method: str, suite: str, mine, rest: list[str], show: bool, run: bool = True
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run and judge one suite's claims of ``method``; returns (per-budget rows, one row per claim and scale).
    ``run=False``: judge the stored rows only, at the confidence of the last look their seeds reached."""
    from harness.run.executors import run_suite
    from harness.run.studies import expand

    kind = find_method(method).kind
    baselines = list(dict.fromkeys(c.baseline for c in mine if c.baseline != method and _known(kind, c.baseline)))
    spec = config.load([f"suite={suite}", f"method={','.join(dict.fromkeys([method, *baselines]))}", *rest])
    spec = design_budgets(spec, mine)
    studies = expand(spec)
    start, seeds, cap = spec.tuning.seeds, spec.tuning.seeds, spec.verify.max_seeds
    looks = max(cap - start + 1, 1)
    if run:
        run_suite(spec, show=show, studies=studies)
    while True:
        rows, problems = store.read_results(Path(spec.results), spec.name)
        for p in problems:
            print(f"warning: skipped unreadable results file {p}")
        rows = rows[rows["study_id"].isin({t.study_id for t in studies})]
        if not run:  # the seeds the stored run reached: its last look
            final = rows[(rows["phase"] == "final") & (rows["method"] == method)]
            seeds = min(max(int(final["seed"].max()) if len(final) else start, start), cap)
        per_budget, summary = _judge(rows, method, mine, seeds - start, looks)
        todo = _undecided(summary, per_budget)
        if not run or not todo or seeds >= cap:
            return per_budget, summary
        seeds += 1
        for workload, scale in todo:  # one more seed, only where a verdict is still open
            more = replace(spec, workloads={workload: replace(spec.workloads[workload], scales=(scale,))},
                           tuning=replace(spec.tuning, seeds=seeds))
            run_suite(more, show=show)


def _with_published(summary: pd.DataFrame, mine, method: str, data, brief: bool = False) -> pd.DataFrame:
    """The summary with a ``published`` column: replications of each claim at the scale nearest the paper's
    (``data``: ``published.read_published()``, our estimator on a source's losses where it published them, else
    its own figure)."""
    if summary.empty:
        return summary
    text = {(c.quote, c.factor): beside(method, c, data, brief) for c in mine}
    return summary.assign(published=[text.get((q, f), "—") for q, f in zip(summary["quote"], summary["claimed"],
                                                                             strict=True)])


REFERENCE = Path(__file__).resolve().parents[1] / "reference"  # this project's reference results (README)


def _every_claim(rest: list[str], fmt: str) -> int:
    """One table of every claim judged on the stored rows (``method=all --reference``): paper | published | ours."""
    parts, data, groups = [], published.read_published(), {}
    for _, name, claim in catalog.claims():
        groups.setdefault((name, claim.suite), []).append(claim)
    for (name, suite), mine in groups.items():
        try:
            _, summary = verify_suite(name, suite, mine, rest, show=False, run=False)
        except ConfigError:
            continue
        if len(summary):
            parts.append(_with_published(summary, mine, name, data, brief=True).assign(method=name))
    if not parts:
        print(f"No claim has stored results in {REFERENCE}.")
        return 2
    table = pd.concat(parts, ignore_index=True)
    table["ours"] = [claims.measured_text(r) for _, r in table.iterrows()]
    table["where"] = table["workload"] + "/" + table["scale"]
    cols = {"method": "method", "claimed_text": "paper", "baseline": "vs", "published": "published (nearest scale)",
            "where": "where", "ours": "ours", "n_seeds": "seeds", "verdict": "verdict"}
    report.emit(table[list(cols)].rename(columns=cols), fmt, "every claim: paper | published | ours")
    return 0


def main(method_name: str, rest: list[str], fmt: str, quiet: bool, reference: bool = False) -> int:
    """Verify every claim of one method; prints the verdicts and the wall time. ``reference``: judge the
    shipped reference results (``reference/``, made with ``preset=cpu``) without running anything."""
    if reference:
        if any(o.startswith("results=") for o in rest):
            raise ConfigError("--reference reads reference/; drop results=")
        rest = [f"results={REFERENCE}", *([] if any(o.startswith("preset=") for o in rest) else ["preset=cpu"]), *rest]
    if method_name == "all":
        if not reference:
            raise ConfigError("method=all judges stored results only: add --reference (or verify one method at a time)")
        return _every_claim(rest, fmt)
    method = find_method(method_name)
    if not method.claims:
        raise ConfigError(f"{method.name} carries no claims to verify")
    t0, judged, data = time.perf_counter(), 0, published.read_published()
    for suite in dict.fromkeys(c.suite for c in method.claims):
        mine = [c for c in method.claims if c.suite == suite]
        try:
            per_budget, summary = verify_suite(method.name, suite, mine, rest, show=not quiet, run=not reference)
        except ConfigError as exc:
            print(f"{method.name}: cannot check its {suite!r} claims here: {exc}")
            continue
        if reference and summary.empty:
            print(f"{method.name}: no reference results for its {suite!r} claims (README: reference results)")
            continue
        report.print_verdicts(method.name, suite, mine, per_budget,
                              _with_published(summary, mine, method.name, data), fmt)
        judged += len(summary)
    minutes = (time.perf_counter() - t0) / 60
    print(f"verify {method.name}: {judged} verdicts in {math.floor(minutes)} min {60 * (minutes % 1):.0f} s")
    return 0 if judged else 2
