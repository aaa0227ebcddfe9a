"""What every page shares: its opening (``page``), where the results are, what was computed from them once
(``bundle``: the leaderboards, every claim judged, the first screen's lines, the scores, the colours), the rows
themselves for the pages that draw trials (``read``), and the sidebar filters kept in the URL.

Presentation only: every number comes from ``harness.store``, ``harness.stats`` and ``harness.report``. The
results folder is ``--results PATH`` after ``--`` on the ``streamlit run`` command line, else
``$SPEEDPROOF_RESULTS``, else ``results``. The bundle is kept on disk per results folder
(``overview.remembered``), so a server started on an unchanged folder reads it back instead of judging every claim
again; the engine, the catalog and the store are imported only when it must be computed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from harness import cache
from harness.stats import overview

RESULTS_ENV = "SPEEDPROOF_RESULTS"
ROOT = Path(__file__).resolve().parent.parent
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
NONE = "(none)"
TAUS = np.linspace(1.0, 4.0, 61)  # the performance profile's grid


# --------------------------------------------------------------------------- where and what


def results_path(argv: list[str] | None = None) -> Path:
    """``--results PATH`` from the script's argv, else ``$SPEEDPROOF_RESULTS``, else ``results``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--results")
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return Path(known.results or os.environ.get(RESULTS_ENV) or "results")


def stamp(path: Path) -> str:
    """Changes whenever a result file is added, removed or rewritten (the cache key of a read)."""
    return cache.results_stamp(path)


def lost(problem: str) -> str:
    """A skipped file's problem with the suite (its folder) and, when its columns can still be read,
    the method and study whose data is missing from every page."""
    import pyarrow.parquet as pq

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


def _rows(path: Path, columns: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    from harness import store
    from harness.stats import engine

    df, problems = store.read_results(path, columns=columns)
    df["hardware"] = engine.hardware_label(df)
    for column in ("suite", "suite_version", "workload", "scale", "method", "phase", "status"):
        df[column] = df[column].astype(object).where(df[column].notna(), NONE).astype(str)
    return df, [lost(p) for p in problems]


@st.cache_resource(show_spinner="Reading results…", max_entries=2)
def read(path: str, key: str) -> pd.DataFrame:
    """Every row with its curves, for the pages that draw trials (shared between sessions, never modified)."""
    return _rows(Path(path))[0]


def rows() -> pd.DataFrame:
    path = results_path()
    return read(str(path), stamp(path))


# --------------------------------------------------------------------------- computed once per results folder


def _boards(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``report.board`` (``engine.boards`` ranked per study) of each suite against the baseline its rows recorded,
    with ``baseline`` and ``target_value`` (the target behind the "to target" ratios)."""
    from harness import report
    from harness.stats import analysis

    parts, notes = [], []
    for suite, part in df.groupby("suite", sort=True):
        base = analysis.recorded_baseline(part)
        for hardware in sorted(set(part["hardware"]) - set(part.loc[part["method"] == base, "hardware"])):
            notes.append(f"`{suite}` on {hardware}: the baseline `{base}` has no trials: no speedups.")
        table = report.board(part, base)
        if table.empty:
            continue
        targets = part.groupby(list(analysis.STUDY_KEYS))["target_value"].first()
        table["target_value"] = [targets.get(tuple(r)) for r in table[list(analysis.STUDY_KEYS)].itertuples(
            index=False)]
        parts.append(table.assign(baseline=base))
    if not parts:
        return pd.DataFrame(), notes
    out = pd.concat(parts, ignore_index=True)
    order = {s: i for i, s in enumerate(scale_order(out))}
    out = out.assign(_o=out["scale"].map(order)).sort_values(
        ["suite", "workload", "hardware", "_o", "budget_multiple", "rank", "loss"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True), notes


def _tiers(board: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Our tier beside the published one (``tiers``, as ``harness verify method=all --reference`` prints it), per
    suite, version, hardware and baseline with published replications: ``tiers`` (the tier table with the suite's
    measurable speedup range), ``tier_ranks`` (per our scale, the rank agreement with the smallest published
    scale) and ``tier_trends``."""
    from harness.stats import tiers
    from harness.store import published

    known, tables, ranks, trends = published.read_published(), [], [], []
    keys = ["suite", "suite_version", "hardware", "baseline"]
    for values, part in board.groupby(keys, sort=True) if len(board) else ():
        where = dict(zip(keys, values, strict=True))
        found = tiers.bridge(part, where["baseline"], known)
        if found is None:
            continue
        ranks.append(found["ranks"].assign(**where))
        trends.append(found["trends"].assign(**where))
        spans = part[np.isclose(part["budget_multiple"].astype(float), 1.0)][
            ["method", "scale", "speedup_range_lo", "speedup_range_hi"]].rename(columns={"scale": "ours_scale"})
        tables.append(found["table"].merge(spans, on=["method", "ours_scale"], how="left").assign(**where))
    return {"tiers": _stacked(tables, [*tiers.COLUMNS, "speedup_range_lo", "speedup_range_hi", *keys]),
            "tier_ranks": _stacked(ranks, [*keys, "ours_scale", "published_scale", "n", "rho", "lo", "hi", "p"]),
            "tier_trends": _stacked(trends, [*keys, "method", "ours", "ours_trend", "published", "published_trend",
                                             "agreement"])}


def _stacked(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True).reindex(columns=columns) if parts else pd.DataFrame(columns=columns)


def compute(path: Path) -> dict[str, pd.DataFrame]:
    """Everything the pages show that is slow to compute: board, notes, per_budget and verdicts (every claim
    judged, ``report.judge_claims``), studies and lines (the first screen, ``overview``), scores and profiles,
    colors, problems, and our tier beside the published one (``_tiers``)."""
    from dashboard import look
    from harness import report

    df, problems = _rows(path, [*report.ROW_COLUMNS, "target_value"])
    board, notes = _boards(df)
    per_budget, summary = report.judge_claims(df, report.registered_claims())
    table = overview.studies(board) if len(board) else pd.DataFrame(columns=overview.CELL)
    scores, profiles = overview.scores(df, TAUS)
    palette = look.colors(df) if len(df) else {}
    return {"board": board, "notes": pd.DataFrame({"note": notes}, dtype=str), "per_budget": per_budget,
            "verdicts": summary, "studies": table,
            "lines": overview.suite_lines(table, summary) if len(table) else pd.DataFrame(),
            "scores": scores, "profiles": profiles,
            "colors": pd.DataFrame({"method": list(palette), "color": list(palette.values())}, dtype=str),
            "problems": pd.DataFrame({"problem": problems}, dtype=str), **_tiers(board)}


def sources() -> list[Path]:
    """The code the bundle comes from (the store, the engine, the report, the method catalog and claims, the
    dashboard): an edit computes it again."""
    return sorted(p for pattern in ("harness/store/**/*.py", "harness/stats/*.py", "harness/report.py",
                                    "harness/contracts/**/*.py", "implementations/**/*.py", "dashboard/*.py")
                  for p in ROOT.glob(pattern))


@st.cache_resource(show_spinner="Computing the leaderboards and judging every claim (once per results folder)…",
                   max_entries=4)
def bundle(path: str, key: str) -> dict[str, pd.DataFrame]:
    """``compute`` of the results folder, read back from disk while its files and the code are unchanged."""
    return overview.remembered(str(Path(path).resolve()), key, sources(), lambda: compute(Path(path)))


def current() -> dict[str, pd.DataFrame]:
    """The bundle of the results folder the app shows."""
    path = results_path()
    return bundle(str(path), stamp(path))


def colors() -> dict[str, str]:
    """method -> its colour on every page (``look.colors`` of every row)."""
    table = current()["colors"]
    return dict(zip(table["method"], table["color"], strict=True))


# --------------------------------------------------------------------------- opening a page


def listed(problems: pd.DataFrame) -> None:
    """The unreadable files, folded, above everything else."""
    if len(problems):
        with st.expander(f"⚠️ {len(problems)} results file(s) could not be read and were skipped: the numbers "
                         "below lack their trials"):
            st.code("\n".join(problems["problem"]), language=None)


def nothing_yet() -> None:
    path = results_path()
    where = "does not exist" if not path.is_dir() else "holds no readable trial"
    st.info(f"**No results to show yet**: the results folder `{path}` {where}.\n\n"
            f"Run a suite first, e.g. `harness run suite=optimizers preset=smoke results={path}`, "
            f"or point the dashboard elsewhere with `harness dashboard results=PATH`.")


NO_FINALS = "No final-phase trials yet: a leaderboard needs the final seeds of a study."


def page(title: str, caption: str = "", columns=tuple(FILTERS), leaderboard: bool = False, empty: str = ""
         ) -> tuple[pd.DataFrame, dict, pd.DataFrame | None] | None:
    """What a page opens with: its title and caption, unreadable files listed, the sidebar's ``columns`` filters
    (their choices from the leaderboard with ``leaderboard``, else from the rows) and, with ``leaderboard``, the
    leaderboard with the filters' rows hidden, its notes shown as warnings. Returns (every row, or the whole
    leaderboard with ``leaderboard``; the filters; the filtered leaderboard or None); None when there is nothing
    to show: no rows, or, with ``leaderboard``, no leaderboard row (``empty`` is said)."""
    st.title(title)
    if caption:
        st.caption(caption)
    found = current()
    listed(found["problems"])
    board = found["board"]
    if (not leaderboard or board.empty) and rows().empty:
        nothing_yet()
        return None
    if leaderboard and board.empty:
        st.info(empty or NO_FINALS)
        return None
    chosen = sidebar_filters(board if leaderboard else rows(), columns)
    if not leaderboard:
        return rows(), chosen, None
    for note in found["notes"]["note"]:
        st.warning(note)
    table = apply_filters(board, chosen)
    if empty and table.empty:
        st.info(empty)
        return None
    return board, chosen, table


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


def suite_order() -> list[str]:
    """Suites in the first screen's order (what was measured first), then any others alphabetically."""
    found = current()
    first = list(dict.fromkeys(found["lines"]["suite"])) if len(found["lines"]) else []
    board = found["board"]
    return first + sorted(set(board["suite"]) - set(first)) if len(board) else first


def baselines() -> dict[str, str]:
    """suite -> the baseline its rows recorded (the leaderboard's)."""
    board = current()["board"]
    return dict(zip(board["suite"], board["baseline"], strict=True)) if len(board) else {}


@st.cache_resource
def published_data():
    """The published replications (``published/``), read once per server."""
    from harness.store import published

    return published.read_published()
