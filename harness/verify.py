"""``harness verify method=NAME``: run what a method's claims need, then one verdict per claim and scale.

Budgets are designed for the claim. For a data (or steps) claim of c at a method budget D the baseline also runs
at D·2^j, j = -1 .. max(1, ceil(log2 c)) (0.5D .. >= cD: the claimed factor lies inside the baseline's budgets, so
the printed data speedup is interpolated, never extrapolated) and at c·D and 0.9c·D (and D), where the verdict
compares the losses directly (``harness.stats.claims``: assumes only that loss falls with budget). The interpolated
speedup decides nothing, so the ladder stops at the first power of 2 past c (it reached 1.5c before: 4x instead of
2x for a 1.4x claim, twice the baseline's compute with ``train.branches``).

Seeds are sequential: every study starts with the suite's seeds (or repeated tuning studies); while a claim's
verdict at a scale is still undecided for statistical reasons, one more seed (one more repeated tuning study when
the suite repeats them) is added to that scale's studies (method and baselines), up to ``verify.max_seeds``
units. The verdicts come from ``harness.stats.engine.judge``, which replays those looks on the stored rows and
judges each at its own confidence (5% false support in all, at any number of looks).
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
from harness.stats import claims, engine, tiers, wording
from harness.stats.replications import beside, trend_text
from harness.store import published

NOT_BY_SEEDS = ("needs a GPU run", "simulated", "the claim is in accuracy", "not run in this suite",  # seeds won't help
                "interpolated only")


def baseline_budgets(budgets, factors) -> list[float]:
    """The baseline's budgets for data claims of ``factors`` at method ``budgets``: D·2^j, j = -1 .. ceil(log2 c)
    (at least 1) for each D, with c the largest factor, and c·D, 0.9c·D and D for each c (none when no factor
    exceeds 1); 4 significant digits."""
    claimed = [f for f in factors if f > 1]
    if not claimed:
        return []
    steps = range(-1, max(1, math.ceil(math.log2(max(claimed)))) + 1)
    ladder = {float(d) * 2.0**j for d in budgets for j in steps}
    direct = {float(d) * m for d in budgets for c in claimed for m in (c, claims.MARGIN * c, 1.0)}
    return sorted({float(f"{b:.4g}") for b in ladder | direct})


def design_budgets(spec: RunSpec, mine) -> RunSpec:
    """``spec`` with every workload given the baseline budgets the data claims in ``mine`` need."""
    factors = [c.factor for c in mine if c.metric in claims.DIRECT_METRICS]
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
    if summary.empty or "reason" not in per_budget:
        return []
    open_ = summary[summary["verdict"].str.startswith("inconclusive")]
    out = set()
    for _, r in open_.iterrows():
        mine = per_budget[(per_budget["quote"] == r["quote"]) & (per_budget["claimed"] == r["claimed"])
                          & (per_budget["workload"] == r["workload"]) & (per_budget["scale"] == r["scale"])]
        if not any(x in " ".join(mine["reason"].fillna("")) for x in NOT_BY_SEEDS):
            out.add((r["workload"], r["scale"]))
    return sorted(out)


def _units(spec: RunSpec) -> int:
    return spec.tuning.seeds * spec.tuning.repeats


def _one_more(spec: RunSpec, workload: str, scale: str) -> RunSpec:
    """``spec`` for one scale with one more unit: a repeated tuning study when the suite repeats them, else a seed."""
    tuning = replace(spec.tuning, repeats=spec.tuning.repeats + 1) if spec.tuning.repeats > 1 else \
        replace(spec.tuning, seeds=spec.tuning.seeds + 1)
    return replace(spec, workloads={workload: replace(spec.workloads[workload], scales=(scale,))}, tuning=tuning)


def suite_spec(method: str, suite: str, mine, rest: list[str]) -> RunSpec:
    """The run specification of one suite's claims of ``method``: the method and the baselines its claims name,
    with the budgets they need."""
    kind = find_method(method).kind
    baselines = list(dict.fromkeys(c.baseline for c in mine if c.baseline != method and _known(kind, c.baseline)))
    spec = config.load([f"suite={suite}", f"method={','.join(dict.fromkeys([method, *baselines]))}", *rest])
    direct = {c.baseline for c in mine if c.metric in claims.DIRECT_METRICS} & set(baselines)
    if len(direct) == 1 and spec.baseline not in direct:  # the designed budgets go to the claims' own baseline
        spec = replace(spec, baseline=direct.pop())  # (the baseline is not part of a trial's identity)
    return design_budgets(spec, mine)


def verify_suite(method: str, suite: str, mine, rest: list[str], show: bool, run: bool = True,
                 stored: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run and judge one suite's claims of ``method``; returns (per-budget rows, one row per claim and scale).
    ``run=False``: judge the stored rows only (``stored``: {(results, suite): rows} read once for many methods)."""
    from harness.run.executors import run_suite
    from harness.run.studies import expand

    spec = suite_spec(method, suite, mine, rest)
    start, cap = _units(spec), max(spec.verify.max_seeds, _units(spec))
    studies = expand(spec)
    tracker = run_suite(spec, show=show, studies=studies)["tracker"] if run else None
    units = start
    while True:
        rows = _read(spec, {} if run else stored if stored is not None else {})
        rows = _pooled(rows, spec)
        per_budget, summary = engine.judge(rows, method, mine, start=start, spaces=report.spaces(rows))
        todo = _undecided(summary, per_budget) if run else []
        if not todo or units >= cap:
            return per_budget, summary
        units += 1
        tuning = _one_more(spec, *todo[0]).tuning
        for workload, scale in todo:  # one more unit, only where a verdict is still open
            tracker = run_suite(replace(_one_more(spec, workload, scale), tuning=tuning), show=show,
                                tracker=tracker)["tracker"]
        spec = replace(spec, tuning=tuning)


def _read(spec: RunSpec, stored: dict) -> pd.DataFrame:
    """The suite's stored rows (once per ``stored`` dict)."""
    key = (spec.results, spec.name)
    if key not in stored:
        rows, problems = store.read_results(Path(spec.results), spec.name, columns=report.ROW_COLUMNS)
        for p in problems:
            print(f"warning: skipped unreadable results file {p}")
        stored[key] = rows
    return stored[key]


def _pooled(rows: pd.DataFrame, spec: RunSpec) -> pd.DataFrame:
    """The stored rows a verdict pools (``engine.POOL``): every row of the spec's methods at its workloads and
    scales, whichever run stored it (the dashboard judges the same rows)."""
    where = {(w, s) for w, ws in spec.workloads.items() for s in ws.scales}
    keep = rows["method"].isin({spec.baseline, *spec.methods}) & pd.Series(
        [k in where for k in zip(rows["workload"], rows["scale"], strict=True)], index=rows.index, dtype=bool)
    return rows[keep]


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
    parts, data, groups, stored = [], published.read_published(), {}, {}
    for _, name, claim in catalog.claims():
        groups.setdefault((name, claim.suite), []).append(claim)
    for (name, suite), mine in groups.items():
        try:
            _, summary = verify_suite(name, suite, mine, rest, show=False, run=False, stored=stored)
        except ConfigError:
            continue
        if len(summary):
            parts.append(_with_published(summary, mine, name, data, brief=True).assign(method=name))
    if not parts:
        print(f"No claim has stored results in {REFERENCE}.")
        return 2
    table = pd.concat(parts, ignore_index=True)
    table["where"] = table["workload"] + "/" + table["scale"]
    cols = {"method": "method", "claimed_text": "paper", "baseline": "vs", "published": "published (nearest scale)",
            "where": "where", "measured": "ours", "n_seeds": "seeds", "verdict": "verdict"}
    report.emit(table[list(cols)].rename(columns=cols), fmt, "every claim: paper | published | ours")
    if fmt not in ("csv", "json"):
        print_tiers(stored, data, rest)
    return 0


def print_tiers(stored: dict, data, rest: list[str], suite: str = "optimizers", baseline: str = "adamw") -> None:
    """The bridge to published scale: per optimizer with a published replication, our data speedup at 1x at each
    of our scales beside the published one at each of theirs, the rank agreement of the two tiers and the trend."""
    spec = config.load([f"suite={suite}", *rest])
    rows = _read(spec, stored)
    if rows.empty or baseline not in set(rows["method"]):
        return
    found = tiers.bridge(engine.boards(rows, baseline), baseline, data)
    if found is None:
        return
    first = found["first"]
    shown = found["near"].rename(columns={"ours": "point", "ours_text": "ours", "ours_scale": "our scale"})
    shown[f"published {first}"] = shown["published_text"].str.replace(" (no interval)", "", regex=False)
    report.emit(shown[["method", "our scale", "ours", f"published {first}", "agreement"]], "terminal",
                f"our tier beside the published one ({suite}, {baseline}, data speedup at 1x; our estimator on both; "
                f"published: one run per size, no interval)")
    for _, got in found["ranks"].iterrows():
        print(f"rank agreement, our {got['ours_scale']} vs published {first} over {got['n']} optimizers: Spearman "
              f"{got['rho']:.2f} [{got['lo']:.2f}, {got['hi']:.2f}] (95% bootstrap over methods), "
              f"permutation p = {got['p']:.2f}")
    for _, r in found["trends"].iterrows():
        print(f"trend with size, {r['method']}: ours {r['ours']} ({r['ours_trend']}), published {r['published']} "
              f"({r['published_trend']}): {r['agreement']}")


def trends(summary: pd.DataFrame, mine, method: str, data) -> list[str]:
    """Per claim metric with >= 2 measured scales: our trend beside the claims' (one claim per scale) and the
    published replications' trend."""
    out = []
    ours = claims.scale_trend(summary)
    for (metric, baseline), group in pd.DataFrame([vars(c) for c in mine]).groupby(["metric", "baseline"],
                                                                                    sort=False):
        mine_here = ours[(ours["metric"] == metric) & (ours["baseline"] == baseline)]
        if mine_here.empty:
            continue
        said = [c for c in mine if c.metric == metric and c.baseline == baseline]
        parts = [mine_here["sentence"].iloc[0]]
        if len({c.scale_params for c in said}) > 1:
            steps = " → ".join(f"{wording.num(c.factor)}x at {c.scale_params:.2g}" for c in
                               sorted(said, key=lambda c: c.scale_params or 0))
            parts.append(f"claimed {steps} parameters")
        published_trend = trend_text(method, said, data)
        if published_trend:
            parts.append(f"published {published_trend}")
        out.append(f"{wording.claimed(metric, group['factor'].iloc[0])}: " + "; ".join(parts))
    return out


def print_plan(method: str, suites: dict[str, list], rest: list[str]) -> int:
    """``verify --plan``: per suite, the first look's trials, steps and estimated time (a few steps of each method
    timed first where this machine has no step time yet); nothing is run or written."""
    from harness.run.options import Options
    from harness.run.plan import make_plan, measure
    from harness.run.studies import expand

    for suite, mine in suites.items():
        spec = suite_spec(method, suite, mine, rest)
        studies, opts = expand(spec), Options.from_spec(spec)
        plan = make_plan(spec, studies, opts.threads, shard=opts.shard, parallel=opts.parallel)
        if plan.unmeasured:
            measure(plan)
            plan = make_plan(spec, studies, opts.threads, shard=opts.shard, parallel=opts.parallel)
        extra = max(spec.verify.max_seeds - _units(spec), 0)
        print(f"{method} in suite {suite}: {plan.text()}; then up to {extra} more seed{'s' * (extra != 1)} where a "
              "verdict stays open")
    return 0


def main(method_name: str, rest: list[str], fmt: str, quiet: bool, reference: bool = False,
         plan_only: bool = False) -> int:
    """Verify every claim of one method; prints the verdicts and the wall time. ``reference``: judge the
    shipped reference results (``reference/``, made with ``preset=cpu``) without running anything; ``plan_only``:
    print what would run and stop."""
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
    if plan_only:
        return print_plan(method.name, {s: [c for c in method.claims if c.suite == s]
                                        for s in dict.fromkeys(c.suite for c in method.claims)}, rest)
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
                              _with_published(summary, mine, method.name, data), fmt,
                              trends(summary, mine, method.name, data))
        judged += len(summary)
    minutes = (time.perf_counter() - t0) / 60
    print(f"verify {method.name}: {judged} verdict{'s' * (judged != 1)} in {math.floor(minutes)} min "
          f"{60 * (minutes % 1):.0f} s")
    return 0 if judged else 2
