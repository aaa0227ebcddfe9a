"""What every page shares: its opening (``page``), where the results are, reading them (cached), the sidebar
filters kept in the URL, and the leaderboard per suite, suite version and hardware.

Presentation only: every number comes from ``harness.store``, ``harness.stats`` and ``harness.report``. The
results folder is ``--results PATH`` after ``--`` on the ``streamlit run`` command line, else
``$SPEEDPROOF_RESULTS``, else ``results``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import streamlit as st

from harness import report, store
from harness.stats import analysis
from harness.store import published

RESULTS_ENV = "SPEEDPROOF_RESULTS"
FILTERS = {  # column -> sidebar label
    "suite": "Suite", "workload": "Workload", "scale": "Scale", "budget_multiple": "Budget (x Chinchilla)",
    "hardware": "Hardware", "suite_version": "Suite version",
}
FILTER_HELP = {
    "suite": "The suite file in suites/ that produced the trials.",
    "workload": "The fixed problem: model + data + loss + metric.",
    "scale": "The named model size of the workload (sorted by parameter count).",
    "budget_multiple": "Training budget as a multiple of the Chinchilla optimum (20 tokens per parameter).",
    "hardware": "The device the trials ran on (GPU name, else the CPU model). Wall-clock and energy only "
                "compare on the same hardware.",
    "suite_version": "The suite's `version:`; results of different versions are never pooled.",
}
PARTITION = ["suite", "suite_version", "hardware"]  # never pooled into one leaderboard
NONE = "(none)"


# --------------------------------------------------------------------------- where and what


def results_path(argv: list[str] | None = None) -> Path:
    """``--results PATH`` from the script's argv, else ``$SPEEDPROOF_RESULTS``, else ``results``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--results")
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return Path(known.results or os.environ.get(RESULTS_ENV) or "results")


def _files(path: Path) -> list[Path]:
    return sorted(path.glob("suite=*/*.parquet")) if path.is_dir() else []


def stamp(path: Path) -> str:
    """Changes whenever a result file is added, removed or rewritten (the cache key of a read). A
    dangling or looping symlink counts by its own (lstat) entry: it never raises here."""
    parts = []
    for p in _files(path):
        try:
            info = p.stat()
        except OSError:  # dangling link, a loop: the read reports it
            info = p.lstat()
        parts.append(f"{p.relative_to(path)}:{info.st_mtime_ns}:{info.st_size}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def lost(problem: str) -> str:
    """A skipped file's problem with the suite (its folder) and, when its columns can still be read,
    the method and study whose data is missing from every page."""
    path = Path(problem.split(": ", 1)[0])
    suite = path.parent.name.removeprefix("suite=") if path.parent.name.startswith("suite=") else None
    if suite is None:
        return problem
    try:
        rows = pq.read_table(path, columns=["method", "study_id"]).to_pylist()
        what = "; ".join(sorted({f"method `{r['method']}`, study `{r['study_id']}`" for r in rows}))
    except Exception:  # the file itself is unreadable: only its folder says whose it was
        what = f"one trial (`{path.stem}`) of an unknown method"
    return f"{problem}\n    → missing from suite `{suite}`: {what}"


def hardware_label(df: pd.DataFrame) -> pd.Series:
    """The GPU's name, else ``CPU (<model>)``, else the device string."""
    cpu = ("CPU (" + df["cpu_model"].astype("string") + ")").fillna(df["device"].astype("string"))
    return df["device_name"].astype("string").fillna(cpu).fillna("unknown").astype(str)


@st.cache_resource(show_spinner="Reading results…", max_entries=2)
def read(path: str, key: str) -> tuple[pd.DataFrame, list[str]]:
    """Every row (shared between sessions and reruns, not copied: pages never modify it)."""
    df, problems = store.read_results(Path(path))
    problems = [lost(p) for p in problems]
    df["hardware"] = hardware_label(df)
    for column in ("suite", "suite_version", "workload", "scale", "method", "phase", "status"):
        df[column] = df[column].astype(object).where(df[column].notna(), NONE).astype(str)
    return df, problems


def load() -> pd.DataFrame | None:
    """All rows, with a friendly message (and None) when there are none; unreadable files are listed."""
    path = results_path()
    df, problems = read(str(path), stamp(path))
    if problems:
        with st.expander(f"⚠️ {len(problems)} results file(s) could not be read and were skipped: the numbers "
                         "below lack their trials"):
            st.code("\n".join(problems), language=None)
    if df.empty:
        where = "does not exist" if not path.is_dir() else "holds no readable trial"
        st.info(f"**No results to show yet**: the results folder `{path}` {where}.\n\n"
                f"Run a suite first, e.g. `harness run suite=optimizers preset=smoke results={path}`, "
                f"or point the dashboard elsewhere with `harness dashboard results=PATH`.")
        return None
    return df


# --------------------------------------------------------------------------- filters in the URL


def as_text(values: pd.Series) -> pd.Series:
    """The labels the filters show (and put in the URL): budgets as ``0.25``, missing as ``(none)``."""
    if values.name == "budget_multiple":
        return values.map(lambda v: NONE if pd.isna(v) else f"{float(v):g}")
    return values.astype(object).where(values.notna(), NONE).astype(str)


def _options(df: pd.DataFrame, column: str) -> list[str]:
    if column == "scale":  # smallest model first
        order = df.groupby("scale")["params"].min().sort_values(kind="stable")
        return [str(s) for s in order.index]
    if column == "budget_multiple":
        return [f"{v:g}" for v in sorted(df[column].dropna().unique())] + ([NONE] if df[column].isna().any() else [])
    return sorted(as_text(df[column]).unique())


def sidebar_filters(df: pd.DataFrame, columns=tuple(FILTERS)) -> dict[str, tuple[str, ...]]:
    """Multiselects in the sidebar whose choices live in the URL (``?scale=nano&scale=micro``); an
    empty choice means all. They cascade: each offers only what the filters above it leave
    (suite → workload → scale → budget). Returns ``{column: chosen labels}`` for the non-empty ones."""
    chosen, rows = {}, df
    for column in columns:
        options = _options(rows, column)
        key = f"filter_{column}"
        if key not in st.session_state:  # first run on this page: take the URL's choice
            st.session_state[key] = [v for v in st.query_params.get_all(column) if v in options]
        else:
            st.session_state[key] = [v for v in st.session_state[key] if v in options]
        picked = st.sidebar.multiselect(FILTERS[column], options, key=key, help=FILTER_HELP[column],
                                        placeholder="all")
        if picked:
            st.query_params[column] = picked
            chosen[column] = tuple(picked)
            rows = apply_filters(rows, {column: chosen[column]})
        elif column in st.query_params:
            del st.query_params[column]
    return chosen


def apply_filters(df: pd.DataFrame, chosen: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """The rows the filters keep; filters hide rows only (no number is recomputed)."""
    mask = np.ones(len(df), bool)
    for column, labels in chosen.items():
        if column in df:
            mask &= as_text(df[column]).isin(labels).to_numpy()
    return df[mask]


def scale_order(df: pd.DataFrame) -> list[str]:
    return _options(df, "scale")


# --------------------------------------------------------------------------- leaderboard


def suite_baseline(suite: str, rows: pd.DataFrame) -> str | None:
    """The suite's baseline as its rows recorded it (``analysis.recorded_baseline``); None without rows."""
    return analysis.recorded_baseline(rows[rows["suite"] == suite])


@st.cache_resource
def published_data():
    """The published replications (``published/``), read once per server."""
    return published.read_published()


@st.cache_resource(show_spinner="Computing speedups and confidence intervals…", max_entries=8)
def full_board(path: str, key: str, baseline: str | None = None, suite: str | None = None
               ) -> tuple[pd.DataFrame, list[str]]:
    """``analysis.leaderboard`` of each (suite, suite version, hardware) part of ALL rows, against
    ``baseline`` or the suite's own; plus ``rank`` (ties when intervals overlap) within each (suite,
    workload, scale, budget, hardware) and ``target_value`` (the target behind the "to target" ratios).
    Computed once on whole studies (shared, never modified): filters then only hide rows (``board``).
    ``suite``: that suite only."""
    df = read(path, key)[0]
    df = df[df["suite"] == suite] if suite else df
    parts, notes = [], []
    for (suite, version, hardware), part in df.groupby(PARTITION, sort=True):
        base = baseline or suite_baseline(suite, part)
        if base not in set(part["method"]):
            notes.append(f"`{suite}` on {hardware}: the baseline `{base}` has no trials: no speedups.")
        table = analysis.leaderboard(part, base, spaces=report.spaces(part))
        if table.empty:
            continue
        table.insert(1, "suite_version", version)
        table.insert(2, "hardware", hardware)
        table["baseline"] = base
        targets = part.groupby(list(analysis.STUDY_KEYS))["target_value"].first()
        table["target_value"] = [targets.get(tuple(r)) for r in table[list(analysis.STUDY_KEYS)].itertuples(
            index=False)]
        parts.append(table)
    if not parts:
        return pd.DataFrame(), notes
    out = pd.concat(parts, ignore_index=True)
    out["rank"] = analysis.rank_with_ties(out, "loss", "loss_lo", "loss_hi", by=[
        "suite", "suite_version", "hardware", "workload", "scale", "budget_multiple"])
    order = {s: i for i, s in enumerate(scale_order(df))}
    out["scale_order"] = out["scale"].map(order)
    out = out.sort_values(["suite", "workload", "hardware", "scale_order", "budget_multiple", "rank"], kind="stable")
    return out.drop(columns="scale_order").reset_index(drop=True), notes


def page(title: str, caption: str = "", columns=tuple(FILTERS), leaderboard: bool = False, empty: str = ""
         ) -> tuple[pd.DataFrame, dict, pd.DataFrame | None] | None:
    """What a page opens with: its title and caption, the rows (``load``), the sidebar's ``columns`` filters
    and, with ``leaderboard``, the filtered leaderboard, its notes shown as warnings. Returns (rows, filters,
    leaderboard or None); None when there is nothing to show: no rows (``load`` has said why), or, with
    ``empty``, no leaderboard row (``empty`` is said)."""
    st.title(title)
    if caption:
        st.caption(caption)
    df = load()
    if df is None:
        return None
    chosen = sidebar_filters(df, columns)
    if not leaderboard:
        return df, chosen, None
    table, notes = board(chosen)
    for note in notes:
        st.warning(note)
    if empty and table.empty:
        st.info(empty)
        return None
    return df, chosen, table


def board(chosen: dict[str, tuple[str, ...]], baseline: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The leaderboard of the results folder with the filters' rows hidden (nothing refitted)."""
    path = results_path()
    table, notes = full_board(str(path), stamp(path), baseline)
    return (apply_filters(table, chosen) if not table.empty else table), notes
