"""Pareto: final loss against wall-clock and against energy, one panel per hardware, the frontier
(``analysis.pareto_front``) highlighted; energy that is not NVML-measured is marked estimated."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, look
from harness.stats import analysis
from harness.stats.analysis import MEASURED_ENERGY_METHODS

COSTS = {"train_time_s": "training wall-clock (s, log)", "energy_j": "training energy (J, log)"}


def energy_label(methods: pd.Series) -> str:
    """measured when every trial's energy came from NVML; estimated otherwise (CodeCarbon's model)."""
    return "measured" if methods.isin(MEASURED_ENERGY_METHODS).all() else "estimated"


def frame(df: pd.DataFrame, cost: str) -> pd.DataFrame:
    """Finished final-phase trials with a positive ``cost``; ``front`` marks the frontier per hardware."""
    ok = df[(df["phase"] == "final") & (df["status"] == "ok") & df["final_val_loss"].notna()
            & (df[cost].astype(float) > 0)].copy()
    ok["front"] = False
    ok["panel"] = ok["hardware"]
    for hardware, g in ok.groupby("hardware"):
        ok.loc[g.index, "front"] = analysis.pareto_front(g[cost], g["final_val_loss"])
        if cost == "energy_j":
            ok.loc[g.index, "panel"] = f"{hardware} — energy {energy_label(g['energy_method'])}"
    ok["on frontier"] = ok["front"].map({True: "yes", False: "no"})
    return ok[["panel", "hardware", "method", "scale", "budget_multiple", "seed", cost, "final_val_loss", "front",
               "on frontier", "energy_method"]].reset_index(drop=True)


def chart(rows: pd.DataFrame, cost: str, color: alt.Color) -> alt.LayerChart:
    """One panel (one hardware): trials as points, the frontier as a step line."""
    x = alt.X(f"{cost}:Q", scale=alt.Scale(type="log"), title=COSTS[cost])
    y = alt.Y("final_val_loss:Q", scale=alt.Scale(zero=False), title="final validation loss")
    base = alt.Chart()
    dots = base.mark_point(filled=True).encode(
        x=x, y=y, color=color, shape=alt.Shape("scale:N"),
        size=alt.Size("on frontier:N", scale=alt.Scale(domain=["no", "yes"], range=[40, 160]), title="on frontier"),
        opacity=alt.Opacity("on frontier:N", scale=alt.Scale(domain=["no", "yes"], range=[0.45, 1.0]), legend=None),
        tooltip=["method", "scale", "budget_multiple", "seed", alt.Tooltip(f"{cost}:Q", format=".4g"),
                 alt.Tooltip("final_val_loss:Q", format=".4f"), "energy_method", "on frontier"])
    front = base.transform_filter("datum.front").mark_line(color="black", interpolate="step-after").encode(
        x=x, y=y, order=f"{cost}:Q")
    return alt.layer(front, dots, data=rows).properties(height=320)


def main() -> None:
    opened = data.page("Pareto: loss against cost", "Each point is one final-phase seed. The black step line is the "
                       "Pareto frontier on that hardware: no other trial reached a lower loss for less. Losses compare "
                       "only within one workload.",
                       columns=("suite", "scale", "budget_multiple", "hardware", "suite_version"))
    if opened is not None:
        df, chosen, _ = opened
        view = data.apply_filters(df, chosen)
        workloads = sorted(view["workload"].unique())
        wanted = st.query_params.get("workload")
        workload = st.selectbox("Workload", workloads, help=data.FILTER_HELP["workload"], key="pareto_workload",
                                index=workloads.index(wanted) if wanted in workloads else 0) if workloads else None
        if workload:
            st.query_params["workload"] = workload
        view = view[view["workload"] == workload]
        for cost, title in (("train_time_s", "Loss against wall-clock"), ("energy_j", "Loss against energy")):
            st.subheader(title)
            rows = frame(view, cost)
            if rows.empty:
                st.info(f"No finished final-phase trials with a recorded `{cost}` in this view"
                        + (" (energy needs NVML on a GPU, or CodeCarbon)." if cost == "energy_j" else "."))
                continue
            if cost == "energy_j" and (~rows["energy_method"].isin(MEASURED_ENERGY_METHODS)).any():
                st.warning("Some energy here is **estimated** (CodeCarbon's model of CPU/RAM power without RAPL), not "
                           "measured: do not rank on it. Panels say which.")
            cells = st.columns(2)
            for i, (panel, part) in enumerate(rows.groupby("panel", sort=True)):
                with cells[i % 2]:
                    st.markdown(f"**{panel}**")
                    st.altair_chart(chart(part, cost, look.method_color(df, part)), width="stretch")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
