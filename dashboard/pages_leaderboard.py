"""Leaderboard: every method's tuned result grouped by suite → workload → scale → budget, the
method column pinned, empty columns hidden, a column chooser in the URL, the suite's own headline
metrics and the flags that travel with each number; the filtered view as CSV or Parquet."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from dashboard import data, look

CI = "95% t interval over seeds; — when there are fewer than 2 seeds."
COLUMNS = {  # shown column -> (title, help); the first ones are the key columns (phones show these)
    "group": ("scale · budget", "The model scale and the budget (× Chinchilla) of the rows below it; ranks restart "
                                "in each group."),
    "method": ("method", "The registered implementation (file stem in implementations/)."),
    "rank": ("rank", "By mean final loss within the group; methods whose loss intervals overlap share a rank (a "
                     "difference inside the noise is a tie)."),
    "speedup": ("speedup [95% CI]", "Data speedup (Fantastic Pretraining Optimizers): D*/D, where the baseline needs "
                                    "D* of data to reach this method's final loss at budget D (interpolated between "
                                    "the baseline's measured budgets). > 1 = better than the baseline. '> 2.00×' is "
                                    "only a bound: the baseline was not measured that far; an 'open' end lies "
                                    "beyond the baseline's budgets, so the data cannot bound it."),
    "flags": ("flags", "did not learn · possibly undertuned (best config at a search-space edge) · under-trained "
                       "regime (< 1× Chinchilla) · single seed · contended machine · tuning noise assumed."),
    "loss": ("final loss", "Mean final validation loss of the final-phase seeds (end of training, schedule complete)."),
    "loss_ci": ("loss CI", CI),
    "n_seeds": ("seeds", "Final-phase seeds that finished ok."),
    "metric": ("metric", "Mean final validation metric of the final-phase seeds (accuracy for classification)."),
    "metric_ci": ("metric CI", CI),
    "metric_delta": ("metric Δ", "Final validation metric minus the baseline's, positive = better (accuracy points "
                                 "for classification; baseline − method for bits per token)."),
    "metric_delta_ci": ("metric Δ CI", CI),
    "forgetting_delta": ("forgetting Δ", "Baseline forgetting − method forgetting (continual workloads; > 0 = "
                                         "forgets less)."),
    "bytes_communicated": ("bytes sent", "Mean bytes communicated between workers per trial."),
    "communication_simulated": ("simulated", "The workers were simulated: bytes were counted, nothing was sent."),
    "comm_ratio_at_loss": ("comm. ratio at equal loss", "Baseline bytes to reach this loss / method bytes."),
    "target": ("target", "The target behind every 'to target' ratio: validation loss the run must reach."),
    "steps_ratio": ("steps ratio", "Baseline steps-to-target / method steps-to-target (> 1 = fewer steps)."),
    "time_ratio": ("time ratio", "Baseline time-to-target / method time-to-target (> 1 = faster wall-clock)."),
    "time_ratio_ci": ("time CI", CI),
    "energy_ratio": ("energy ratio", "Baseline energy-to-target / method energy-to-target (> 1 = less energy)."),
    "energy_quality": ("energy", "measured = NVML GPU energy counter; estimated = CodeCarbon's model (no RAPL); "
                                 "none = no energy recorded. Never rank on an estimate without saying so."),
    "overhead_ratio": ("step time ×", "Median step time relative to the baseline (< 1 = cheaper steps)."),
    "memory_ratio": ("memory ×", "Peak memory relative to the baseline."),
    "n_failed": ("failed", "Final-phase seeds that diverged, ran out of memory or failed."),
    "params": ("params", "Model parameters at this scale."),
    "hardware": ("hardware", data.FILTER_HELP["hardware"]),
    "suite_version": ("version", data.FILTER_HELP["suite_version"]),
}
KEY = ("group", "method", "rank", "speedup", "flags", "loss", "loss_ci", "n_seeds")
HEADLINE = {  # metric name / suite trait -> the columns shown by default beside the key ones
    "accuracy": ("metric", "metric_ci", "metric_delta", "metric_delta_ci"), "forgetting": ("forgetting_delta",),
    "communication": ("bytes_communicated", "communication_simulated", "comm_ratio_at_loss"),
}
PINNED_MIN, PINNED_MAX = 80, 112  # px: a method column this wide is sized here, else by the grid
FORMATS = {"rank": "%d", "loss": "%.4f", "steps_ratio": "%.2f", "time_ratio": "%.2f", "energy_ratio": "%.2f",
           "overhead_ratio": "%.2f", "memory_ratio": "%.2f", "metric": "%.4f", "metric_delta": "%+.4f",
           "forgetting_delta": "%+.4f",
           "comm_ratio_at_loss": "%.2f", "bytes_communicated": "compact", "params": "compact", "n_seeds": "%d",
           "n_failed": "%d"}


def view(board: pd.DataFrame) -> pd.DataFrame:
    """The shown table of one (suite, workload): text columns for intervals, factors and targets,
    columns that hold nothing in this part dropped."""
    out = board.copy()
    out["group"] = out["scale"] + " · " + out["budget_multiple"].map(lambda b: f"{b:g}×")
    out["speedup"] = out["data_speedup_text"].map(look.times)
    for name, column in (("loss_ci", "loss"), ("time_ratio_ci", "time_ratio"), ("metric_ci", "metric"),
                         ("metric_delta_ci", "metric_delta")):
        out[name] = [look.interval(lo, hi) for lo, hi in zip(out[f"{column}_lo"], out[f"{column}_hi"])]
    out["target"] = out["target_value"].map(lambda t: "—" if pd.isna(t) else f"loss ≤ {t:g}")
    for column in COLUMNS:
        if column not in out:
            out[column] = None
    out = out[list(COLUMNS)]
    empty = [c for c in out if out[c].map(lambda v: look.text(v) in ("—", "", "False")).all() and c not in KEY[:3]]
    return out.drop(columns=empty)


def defaults(board: pd.DataFrame) -> list[str]:
    """The key columns and the suite's headline metrics (accuracy, forgetting, communication)."""
    chosen = list(KEY)
    names = set(board.get("metric_name", pd.Series(dtype=object)).dropna())
    if "accuracy" in names:
        chosen += HEADLINE["accuracy"]
    if board.get("forgetting_delta", pd.Series(dtype=float)).notna().any():
        chosen += HEADLINE["forgetting"]
    if "bytes_communicated" in board and board["bytes_communicated"].notna().any():
        chosen += HEADLINE["communication"]
    if board["steps_ratio"].notna().any():
        chosen += ["target", "steps_ratio"]
    return chosen


def column_config(metric: str | None = None, longest: int = 0) -> dict:
    """Titles, help and formats; the metric columns are titled by the workload's metric (``accuracy``,
    ``accuracy Δ``); the pinned method column wide enough for its ``longest`` name (in characters) where the grid's
    own sizing, which reads only the first rows, may cut it, up to what keeps both columns pinned on a phone."""
    config = {}
    wide = 7 * longest + 20  # px; Streamlit unpins columns wider than 60% of the grid (a phone's: ~214 px)
    for column, (title, text) in COLUMNS.items():
        title = title.replace("metric", metric) if metric and column.startswith("metric") else title
        pinned = column in ("group", "method")
        if column == "method" and PINNED_MIN <= wide <= PINNED_MAX:
            config[column] = st.column_config.TextColumn(title, help=text, pinned=True, width=wide)
        elif column in FORMATS:
            config[column] = st.column_config.NumberColumn(title, help=text, format=FORMATS[column], pinned=pinned)
        elif column == "communication_simulated":
            config[column] = st.column_config.CheckboxColumn(title, help=text)
        else:
            config[column] = st.column_config.TextColumn(title, help=text, pinned=pinned)
    return config


def chooser(board: pd.DataFrame) -> list[str]:
    """The column chooser (in the URL as ``?cols=``); by default the key and headline columns."""
    options = [c for c in COLUMNS if c not in KEY[:2]]
    if "cols" not in st.session_state:
        wanted = st.query_params.get_all("cols")
        st.session_state["cols"] = [c for c in wanted if c in options] or [c for c in defaults(board) if c in options]
    with st.expander("Columns shown"):
        picked = st.multiselect("Columns", options, key="cols", format_func=lambda c: COLUMNS[c][0],
                                help="Which columns the tables show (scale · budget and method always are).")
    st.query_params["cols"] = picked
    return ["group", "method", *picked]


def parquet_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def main() -> None:
    opened = data.page("Leaderboard", "Final-phase trials of each tuned method, against the suite's baseline, "
                       "grouped by suite, workload, scale and budget. Hover a column title for what it means; filters "
                       "and columns live in the URL.", leaderboard=True,
                       empty="No final-phase trials match these filters (tuning trials alone do not make a "
                             "leaderboard row). Widen the filters, or let the suite finish its final seeds.")
    if opened is None:
        return
    _, _, board = opened
    columns = chooser(board)
    order = {s: i for i, s in enumerate(data.suite_order())}
    board = board.assign(_o=board["suite"].map(order)).sort_values("_o", kind="stable").drop(columns="_o")
    for (suite, workload, hardware), part in board.groupby(["suite", "workload", "hardware"], sort=False):
        st.subheader(f"{suite} · {workload}", anchor=False)
        shown = view(part)
        base = part["baseline"].iloc[0]
        st.caption(f"{hardware} · baseline `{base}` · {len(part)} rows")
        metric = part["metric_name"].dropna().iloc[0] if part["metric_name"].notna().any() else None
        config = column_config(metric, int(part["method"].str.len().max()))
        st.dataframe(shown[[c for c in columns if c in shown]], column_config=config, hide_index=True,
                     placeholder="—", key=f"board-{suite}-{workload}-{hardware}")
        ends = part[part["data_speedup_text"].astype(str).str.contains("open")]
        if "speedup" in columns and len(ends):
            where = "; ".join(dict.fromkeys(f"{r.scale} · {r.budget_multiple:g}×: "
                                            f"{look.measurable(r.speedup_range_lo, r.speedup_range_hi)}"
                                            for r in ends.itertuples()))
            st.caption(f"Speedup: {look.open_note(base, where)}.")
    st.caption(f"{len(board)} rows in all")
    left, right, _ = st.columns([1, 1, 4])
    left.download_button("Download CSV", board.to_csv(index=False), "leaderboard.csv", "text/csv",
                         help="The filtered leaderboard with every column (points and interval bounds).")
    right.download_button("Download Parquet", parquet_bytes(board), "leaderboard.parquet",
                          "application/vnd.apache.parquet", help="The same table as Parquet.")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
