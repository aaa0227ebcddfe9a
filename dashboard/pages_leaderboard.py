"""Leaderboard: every method's tuned result per workload, scale, budget and hardware, with
confidence intervals; filters in the URL; the filtered view as CSV or Parquet."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from dashboard import data

CI = "95% t interval over seeds; — when there are fewer than 2 seeds."
COLUMNS = {  # shown column -> (title, help)
    "rank": ("rank", "By mean final loss within workload, scale, budget and hardware; methods whose loss intervals "
                     "overlap share a rank (a difference inside the noise is a tie)."),
    "method": ("method", "The registered implementation (file stem in implementations/)."),
    "workload": ("workload", data.FILTER_HELP["workload"]),
    "scale": ("scale", data.FILTER_HELP["scale"]),
    "params": ("params", "Model parameters at this scale."),
    "budget_multiple": ("budget", data.FILTER_HELP["budget_multiple"]),
    "hardware": ("hardware", data.FILTER_HELP["hardware"]),
    "loss": ("final loss", "Mean final validation loss of the final-phase seeds (end of training, schedule complete)."),
    "loss_ci": ("loss CI", CI),
    "data_speedup_text": ("speedup", "Data speedup (Fantastic Pretraining Optimizers): D*/D, where the baseline needs "
                                     "D* tokens to reach this method's final loss at budget D (interpolated between the "
                                     "baseline's measured budgets), with its 95% interval. Beyond those budgets only a "
                                     "bound: \"> 2.00x\". > 1 = better than the baseline."),
    "steps_ratio": ("steps ratio", "Baseline steps-to-target / method steps-to-target (> 1 = fewer steps)."),
    "time_ratio": ("time ratio", "Baseline time-to-target / method time-to-target (> 1 = faster wall-clock)."),
    "time_ratio_ci": ("time CI", CI),
    "energy_ratio": ("energy ratio", "Baseline energy-to-target / method energy-to-target (> 1 = less energy)."),
    "energy_quality": ("energy", "measured = NVML GPU energy counter; estimated = CodeCarbon's model (no RAPL); "
                                 "none = no energy recorded. Never rank on an estimate without saying so."),
    "overhead_ratio": ("step time ×", "Median step time relative to the baseline (< 1 = cheaper steps)."),
    "memory_ratio": ("memory ×", "Peak memory relative to the baseline."),
    "n_seeds": ("seeds", "Final-phase seeds that finished ok."),
    "n_failed": ("failed", "Final-phase seeds that diverged, ran out of memory or failed."),
    "suite": ("suite", data.FILTER_HELP["suite"]),
    "suite_version": ("version", data.FILTER_HELP["suite_version"]),
    "baseline": ("baseline", "The method every ratio and speedup is measured against (the suite's baseline)."),
}
FORMATS = {"rank": "%d", "loss": "%.4f", "steps_ratio": "%.2f", "time_ratio": "%.2f",
           "energy_ratio": "%.2f", "overhead_ratio": "%.2f", "memory_ratio": "%.2f", "budget_multiple": "%g×",
           "params": "compact"}


def view(board: pd.DataFrame) -> pd.DataFrame:
    """The shown table: CI columns as text beside their point estimates."""
    out = board.copy()
    for name, column in (("loss_ci", "loss"), ("time_ratio_ci", "time_ratio")):
        out[name] = [data.interval(lo, hi) for lo, hi in zip(out[f"{column}_lo"], out[f"{column}_hi"])]
    out = out[list(COLUMNS)]
    numeric = [c for c in FORMATS if c != "params"]
    out[numeric] = out[numeric].astype(float)
    return out


def column_config() -> dict:
    config = {}
    for column, (title, text) in COLUMNS.items():
        if column in FORMATS:
            config[column] = st.column_config.NumberColumn(title, help=text, format=FORMATS[column])
        else:
            config[column] = st.column_config.TextColumn(title, help=text)
    return config


def parquet_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def main() -> None:
    st.title("Leaderboard")
    st.caption("Final-phase trials of each tuned method, against the suite's baseline. Hover a column title for "
               "what it means; filters live in the URL, so a link reproduces this view.")
    df = data.load()
    if df is not None:
        path = data.results_path()
        chosen = data.sidebar_filters(df)
        board, notes = data.board(str(path), data.stamp(path), tuple(sorted(chosen.items())))
        for note in notes:
            st.warning(note)
        if board.empty:
            st.info("No final-phase trials match these filters (tuning trials alone do not make a leaderboard row). "
                    "Widen the filters, or let the suite finish its final seeds.")
        else:
            st.dataframe(view(board), column_config=column_config(), hide_index=True, placeholder="—")
            st.caption(f"{len(board)} rows · baseline per suite: "
                       + ", ".join(f"`{s}` → `{b}`" for s, b in board.groupby("suite")["baseline"].first().items()))
            left, right, _ = st.columns([1, 1, 4])
            left.download_button("Download CSV", board.to_csv(index=False), "leaderboard.csv", "text/csv",
                                 help="The filtered leaderboard with every column (points and interval bounds).")
            right.download_button("Download Parquet", parquet_bytes(board), "leaderboard.parquet",
                                  "application/vnd.apache.parquet", help="The same table as Parquet.")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
