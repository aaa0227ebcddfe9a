"""Leaderboards and claim verdicts as text: a terminal table, markdown, CSV or JSON.

All numbers come from the engine, ``harness.stats.engine``: one leaderboard per suite, suite version and hardware
(``engine.boards``: tuned finals over seeds, t intervals, data speedup against the suite's baseline) and the
verdicts of ``engine.judge``. Every ratio says which way it points.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.contracts import catalog
from harness.stats import analysis, engine, wording

COLUMNS = {  # leaderboard column -> printed header
    "workload": "workload", "scale": "scale", "budget_multiple": "budget x", "rank": "rank", "method": "method",
    "n_seeds": "seeds", "loss": "final val loss [95% CI]", "data_speedup": "data speedup [95% CI]",
    "steps_ratio": "steps to target: baseline ÷ method", "time_ratio": "time to target: baseline ÷ method",
    "energy_ratio": "energy to target: baseline ÷ method", "overhead_ratio": "step time: method ÷ baseline",
    "n_failed": "failed", "forgetting_delta": "forgetting: baseline - method [95% CI]",
    "bytes_communicated": "bytes sent", "comm_ratio": "bytes: baseline ÷ method",
    "comm_ratio_at_loss": "bytes at equal loss: baseline ÷ method",
}
BOUND_TEXT = {"lower_bound": "> {lo}x", "upper_bound": "< {hi}x", "unknown": "unknown", "none": "—"}
WHERE_MEASURED = ("forgetting_delta",)  # shown only where some row has a value (continual workloads)
# the store columns that leaderboards, grids and verdicts read (no curves): a million rows fit in memory
ROW_COLUMNS = [
    "trial_id", "suite", "study_id", "phase", "workload", "scale", "params", "budget_tokens", "budget_multiple",
    "method", "baseline", "optimizer", "seed", "batch_size", "hp_lr", "status", "final_val_loss", "final_val_metric",
    "val_metric_name", "reached_target", "forgetting", "steps", "tokens", "flops", "train_time_s", "step_time_ms_p50",
    "time_to_target_s", "steps_to_target", "energy_j", "energy_to_target_j", "energy_method", "peak_mem_bytes",
    "steps_to_target_lo", "time_to_target_lo_s", "energy_to_target_lo_j", "target_crossing", "eval_correct",
    "eval_examples", "repeat", "tuning_seeds", "tuning_repeats", "suite_version", "device_name", "cpu_model",
    "bytes_communicated", "simulated", "device", "threads", "contended", "hparams_json", "search_space_json",
    "chance_loss", "kind",
    "schedule", "run_id", "source", "citation",
]
VERDICT_ORDER = {"supported": 0, "not supported": 1, "mixed": 2, "evidence for (scaled-down)": 3,  # listing order
                 "evidence against (scaled-down)": 4, "inconclusive": 5, "inconclusive (scaled-down)": 6}


def spaces(rows: pd.DataFrame) -> dict:
    """{method: its search space} from the catalog for the "possibly undertuned" flag, only for methods whose
    final rows do not record their own (rows made before ``search_space_json``)."""
    final = rows[rows["phase"] == "final"]
    recorded = final["search_space_json"].notna() if "search_space_json" in final else False
    out = {}
    for name in final.loc[~recorded, "method"].unique() if len(final) else ():
        for kind in ("optimizer", "schedule", "method"):
            try:
                out[name] = catalog.entry(kind, name).search_space
                break
            except (KeyError, AttributeError):
                continue
    return out


def methods() -> dict[str, dict[str, catalog.Entry]]:
    """``{kind: {name: Entry}}`` for every method file as the catalog describes it: summary, paper, docstring,
    defaults, search space, claims, or why it is unavailable (no method imported)."""
    return catalog.catalog()


def registered_claims() -> list[tuple]:
    """(kind, method, claim) for every claim of every available method, from the catalog (no method imported)."""
    return catalog.claims()


CELL = ["suite", "suite_version", "hardware", "workload", "scale", "budget_multiple"]  # what one table ranks


def judge_claims(df: pd.DataFrame, claims: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every registered claim judged on the rows by the engine the CLI uses (``engine.judge`` on the claim's suite,
    the sequential looks replayed): (per-budget rows, one verdict per claim, scale and hardware), with each claim's
    method, kind, source, suite and setting beside it; measured claims first. Slow (seconds per method): the
    dashboard computes it once per results folder."""
    groups: dict[tuple, list] = {}
    for kind, method, claim in claims:
        groups.setdefault((kind, method, claim.suite), []).append(claim)
    per, summaries = [], []
    for (kind, method, suite), mine in groups.items():
        rows = df[df["suite"] == suite]
        if rows.empty or method not in set(rows["method"]):
            continue
        pb, summary = engine.judge(rows, method, mine, spaces=spaces(rows))
        if summary.empty:
            continue
        about = pd.DataFrame([{"quote": c.quote, "claimed": c.factor, "kind": kind, "source": c.source,
                               "suite": suite, "setting": c.setting} for c in mine])
        about = about.drop_duplicates(["quote", "claimed"])
        per.append(pb.drop(columns=["direct"], errors="ignore").assign(kind=kind, suite=suite))
        summaries.append(summary.drop(columns=["suite"], errors="ignore").merge(about, on=["quote", "claimed"]))
    if not summaries:
        return pd.DataFrame(), pd.DataFrame()
    out = pd.concat(summaries, ignore_index=True)
    out["order"] = out["verdict"].map(VERDICT_ORDER).fillna(9)
    out = out.sort_values(["order", "method", "quote", "params"], kind="stable").drop(columns="order")
    return pd.concat(per, ignore_index=True), out.reset_index(drop=True)


def board(rows: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """The leaderboard of final-phase rows (``engine.boards``), ranked per cell (overlapping intervals tie)."""
    if rows.empty or not (rows["phase"] == "final").any():
        return pd.DataFrame()
    table = engine.boards(rows, baseline, spaces=spaces(rows))
    if table.empty:
        return table
    table["rank"] = analysis.rank_with_ties(table, "loss", "loss_lo", "loss_hi", by=CELL)
    return table.sort_values([*CELL, "rank", "loss"], kind="stable").reset_index(drop=True)


def _ci(point, lo, hi, digits: int = 3) -> str:
    """``point [lo, hi]``; an end beyond what was measured prints "open"; no interval: the point alone."""
    def end(v):
        return f"{v:.{digits}f}" if v is not None and np.isfinite(v) else "open"

    if point is None or not np.isfinite(point):
        return "—"
    if (lo is None or not np.isfinite(lo)) and (hi is None or not np.isfinite(hi)):
        return f"{point:.{digits}f}"
    return f"{point:.{digits}f} [{end(lo)}, {end(hi)}]"


def _rows(table: pd.DataFrame) -> list[list]:
    """``table``'s rows with the values ``iterrows`` gives, without a Series per row where it changes nothing: pandas
    infers a row's type (strings and missing values: a ``str`` row, None read as nan) only where no value is a
    number."""
    values = table.values
    return [row if any(isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_) and v == v
                       for v in row) else list(pd.Series(values[i], index=table.columns))
            for i, row in enumerate(values.tolist())]


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """Point estimates with their intervals as text, one column per headline number."""
    out: dict = {}  # header -> values, made a frame once (a column inserted into a frame costs a copy of its labels)
    rows = _rows(table) if len(table.columns) else []

    def cells(*columns: str) -> list:  # r[c] of table.iterrows(), column by column
        at = [table.columns.get_loc(c) for c in columns]
        return [[r[i] for r in rows] for i in at]

    for col, header in COLUMNS.items():
        if col not in table or col in WHERE_MEASURED and not table[col].notna().any():
            continue
        if f"{col}_lo" in table:
            digits = 4 if col == "loss" else 3 if col in WHERE_MEASURED else 2
            exact = table[f"{col}_exact"] if f"{col}_exact" in table else pd.Series(False, index=table.index)
            out[header] = [f"{v:.{digits}f} (exact)" if flag is True else _ci(v, lo, hi, digits)
                           for v, lo, hi, flag in zip(*cells(col, f"{col}_lo", f"{col}_hi"), exact,
                                                      strict=True)]
        else:
            out[header] = table[col]
    if "bytes_communicated" in table:
        simulated = table.get("communication_simulated", pd.Series(False, index=table.index)).fillna(False)
        out[COLUMNS["bytes_communicated"]] = [
            "—" if not np.isfinite(v) else f"{v:.3g}{' (simulated)' if sim else ''}"
            for v, sim in zip(table["bytes_communicated"].astype(float), simulated.astype(bool), strict=True)]
    if "energy_quality" in table:
        out["energy"] = table["energy_quality"]
    if "data_speedup_text" in table:  # bounds beyond the baseline's budgets print as "> 2.00x", never a number
        out[COLUMNS["data_speedup"]] = table["data_speedup_text"].fillna("—")
    for name in ("steps", "time", "energy"):  # a crossing before the first evaluation or never: a bound
        col = f"{name}_ratio"
        if f"{col}_kind" in table and COLUMNS[col] in out:
            out[COLUMNS[col]] = [_ci(v, lo, hi, 2) if kind == "value" else
                                 BOUND_TEXT[kind].format(lo=wording.num(lo), hi=wording.num(hi))
                                 for v, lo, hi, kind in zip(*cells(col, f"{col}_lo", f"{col}_hi",
                                                                   f"{col}_kind"), strict=True)]
    if "flags" in table and table["flags"].fillna("").astype(bool).any():
        out["flags"] = table["flags"].fillna("")
    return pd.DataFrame(out, index=table.index)


def emit(table: pd.DataFrame, fmt: str, title: str = "", console: Console | None = None) -> None:
    """Print ``table`` (already readable) in one of ``harness.cli.FORMATS``."""
    console = console or Console(width=200)
    if fmt == "csv":
        print(table.to_csv(index=False), end="")
    elif fmt == "json":
        print(json.dumps(table.to_dict(orient="records"), indent=1, default=str))
    elif fmt == "markdown":
        if title:
            print(f"### {title}\n")
        cols = list(table.columns)
        print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        for r in _rows(table):
            print("| " + " | ".join(str(v) for v in r) + " |")
        print()
    else:
        t = Table(title=escape(title) or None, title_justify="left")
        for col in table.columns:
            t.add_column(escape(str(col)), justify="left" if table[col].dtype == object else "right")
        for r in _rows(table):  # text, not markup: "[open, open]" is an interval
            t.add_row(*(escape(str(v)) for v in r))
        console.print(t)


def print_leaderboard(rows: pd.DataFrame, baseline: str, fmt: str = "terminal") -> pd.DataFrame:
    table = board(rows, baseline)
    if table.empty:
        print("No final results yet: run `harness run suite=NAME` first.")
        return table
    if fmt in ("csv", "json"):
        emit(table, fmt)
        return table
    machines = table["hardware"].nunique() > 1 or table["suite_version"].nunique() > 1
    for (suite, version, hardware, workload, scale, budget), part in table.groupby(CELL, sort=False):
        shown = readable(part).drop(columns=["workload", "scale", "budget x"])
        where = f" [version {version}, {hardware}]" if machines else ""
        emit(shown, fmt, f"{suite}{where}: {workload} / {scale} / {budget:g}x Chinchilla (baseline {baseline})")
    return table


def print_verdicts(method: str, suite: str, mine, per_budget: pd.DataFrame, summary: pd.DataFrame,
                   fmt: str = "terminal", trends: list[str] = ()) -> None:
    """Each claim once: the paper's words and number, then one verdict per scale (at the confidence of the look
    that decided it), the trend over scale beside the claims' and the published one, and the per-budget
    measurements behind them."""
    if fmt in ("csv", "json"):
        emit(summary, fmt)
        return
    for claim in mine:
        scale = f", {claim.scale_params:.3g} parameters" if claim.scale_params else ""
        print(f'claim: "{claim.quote}" — {wording.claimed(claim.metric, claim.factor, claim.form)} vs '
              f"{claim.baseline} ({claim.setting}{scale}; {claim.source})")
    if summary.empty:
        emit(per_budget, fmt, f"{method} in suite {suite}")
        return
    cols = {"claimed_text": "paper", "published": "published (nearest scale)", "workload": "workload",
            "scale": "scale", "budgets": "budgets", "n_seeds": "seeds", "verdict": "verdict", "sentence": "ours"}
    shown = summary[[c for c in cols if c in summary]].rename(columns=cols)
    emit(shown, fmt, f"{method} in suite {suite}: paper | published | ours, one verdict per claim and scale")
    for line in trends:
        print(f"does it survive scale? {line}")
    cols = ["workload", "scale", "budget_multiple", "metric", "baseline", "n_seeds", "measured", "verdict", "basis",
            "labels", "flags", "reason"]
    emit(per_budget[[c for c in cols if c in per_budget]].fillna(""), fmt, f"{method} in suite {suite}: per budget")


def _edge(r) -> str:
    if not np.isfinite(r["lr_stable"]):
        return f"< {r['lr_diverged']:.3g} (all diverged)"
    return f">= {r['lr_stable']:.3g} (none diverged)" if r["censored"] else f"{r['lr_edge']:.3g}"


def print_grid(rows: pd.DataFrame, fmt: str = "terminal") -> tuple:
    """Grid-phase rows as the batch-size rule: the largest stable lr per batch size, the fitted exponent
    with its 95% CI beside the predicted one (``harness.stats.batch_scaling``)."""
    from harness.stats import batch_scaling

    grid = rows[rows["phase"] == "grid"] if len(rows) else rows
    if grid.empty or grid["batch_size"].isna().all() or grid["hp_lr"].isna().all():
        print("No grid results with batch_size and lr axes yet.")
        return pd.DataFrame(), pd.DataFrame()
    edges, fits = batch_scaling.exponents(grid)
    shown = edges.assign(**{"largest stable lr": edges.apply(_edge, axis=1)})
    fit_text = fits.assign(
        **{"exponent [95% CI]": [_ci(r.get("exponent", np.nan), r.get("ci_low"), r.get("ci_high"), 2)
                                 for _, r in fits.iterrows()],
           "predicted": fits["predicted"].map(lambda v: "—" if not np.isfinite(v) else f"{v:g}")})
    if fmt in ("csv", "json"):
        emit(pd.concat([edges.assign(table="edges"), fits.assign(table="fits")], ignore_index=True), fmt)
        return edges, fits
    def titled(table: pd.DataFrame, title: str) -> None:
        if fmt == "terminal":  # on its own line: a table's title wraps at the table's width
            print(title)
        emit(table, fmt, "" if fmt == "terminal" else title)

    for (workload, scale), part in shown.groupby(["workload", "scale"]):
        table = part.pivot(index="batch_size", columns="optimizer", values="largest stable lr").reset_index()
        titled(table.rename(columns={"batch_size": "batch size"}), f"{workload} / {scale}: largest stable lr")
        mine = fit_text[(fit_text["workload"] == workload) & (fit_text["scale"] == scale)]
        cols = ["optimizer", "exponent [95% CI]", "predicted", "edges_used", "note"]
        titled(mine[cols].rename(columns={"edges_used": "edges fitted"}),
               f"{workload} / {scale}: lr_max ~ B^exponent (Granziol et al.: 1 for SGD, 0.5 for Adam)")
    return edges, fits
