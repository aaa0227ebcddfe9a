"""Pareto: per task (a suite's workload) and hardware, each study's final loss against its wall-clock and its
energy, and the frontier (``analysis.pareto_front``) computed on every study of the task: filters hide points,
they never move the frontier. Energy that is not NVML-measured is marked estimated."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, look
from harness.stats import analysis
from harness.stats.analysis import MEASURED_ENERGY_METHODS

COSTS = {"train_time_s": "training wall-clock per seed (s, log)", "energy_j": "training energy per seed (J, log)"}
KEYS = ["suite", "workload", "hardware", "scale", "budget_multiple", "method"]


def energy_label(methods: pd.Series) -> str:
    """measured when every trial's energy came from NVML; estimated otherwise (CodeCarbon's model)."""
    return "measured" if methods.isin(MEASURED_ENERGY_METHODS).all() else "estimated"


def frame(df: pd.DataFrame, board: pd.DataFrame, cost: str) -> pd.DataFrame:
    """One point per study of the rows' tasks: the leaderboard's mean final loss and the mean ``cost`` of its
    finished final seeds (studies without a positive cost are left out); ``front`` marks the frontier of each
    task and hardware, ``panel`` names it (with the energy's quality)."""
    ok = df[(df["phase"] == "final") & (df["status"] == "ok") & df["final_val_loss"].notna()
            & (df[cost].astype(float) > 0)]
    if ok.empty:
        return pd.DataFrame(columns=[*KEYS, cost, "loss", "n_seeds", "front", "panel", "on frontier"])
    spent = ok.groupby(KEYS, sort=False).agg(cost=(cost, "mean"), energy_method=(
        "energy_method", lambda m: energy_label(m.fillna("none")))).reset_index().rename(columns={"cost": cost})
    out = spent.merge(board[[*KEYS, "loss", "n_seeds"]], on=KEYS, how="inner")
    out["front"], out["panel"] = False, out["suite"] + " · " + out["workload"] + " · " + out["hardware"]
    for _, g in out.groupby(["suite", "workload", "hardware"]):
        out.loc[g.index, "front"] = analysis.pareto_front(g[cost], g["loss"])
        if cost == "energy_j":
            quality = "measured" if (g["energy_method"] == "measured").all() else "estimated"
            out.loc[g.index, "panel"] += f" — energy {quality}"
    out["on frontier"] = out["front"].map({True: "yes", False: "no"})
    return out


def chart(rows: pd.DataFrame, cost: str, color: alt.Color) -> alt.LayerChart:
    """One panel (one task on one hardware): studies as points (shape: scale), the frontier as a step line."""
    x = alt.X(f"{cost}:Q", scale=alt.Scale(type="log", nice=False, padding=12), title=COSTS[cost])
    y = alt.Y("loss:Q", scale=alt.Scale(zero=False), title="mean final validation loss")
    dots = alt.Chart().mark_point(filled=True).encode(
        x=x, y=y, color=color, shape=alt.Shape("scale:N", legend=alt.Legend(orient="top", title="scale")),
        size=alt.Size("on frontier:N", scale=alt.Scale(domain=["no", "yes"], range=[50, 180]), legend=None),
        opacity=alt.Opacity("on frontier:N", scale=alt.Scale(domain=["no", "yes"], range=[0.5, 1.0]), legend=None),
        tooltip=["method", "scale", "budget_multiple", "n_seeds", alt.Tooltip(f"{cost}:Q", format=".4g"),
                 alt.Tooltip("loss:Q", format=".4f"), "energy_method", "on frontier"])
    front = alt.Chart().transform_filter("datum.front").mark_line(color="black", interpolate="step-after").encode(
        x=x, y=y, order=f"{cost}:Q")
    return alt.layer(front, dots, data=rows).properties(height=look.height(280, rows, legends=1))


def main() -> None:
    opened = data.page("Pareto: loss against cost", "Each point is one study (a method at one scale and budget): "
                       "its mean final loss over the seeds against its mean cost per seed. The black step line is "
                       "the Pareto frontier of the task on that hardware, computed on all its studies (filters hide "
                       "points, never move it): no study reached a lower loss for less. Bigger points are on it.",
                       columns=("scale", "budget_multiple", "hardware"))
    if opened is None:
        return
    df, chosen, _ = opened
    board = data.current()["board"]
    order = {s: i for i, s in enumerate(data.suite_order())}
    tasks = sorted({(s, w) for s, w in zip(board["suite"], board["workload"], strict=True)},
                   key=lambda t: (order.get(t[0], len(order)), t))
    labels = [f"{s} · {w}" for s, w in tasks]
    wanted = st.query_params.get("task")
    task = st.selectbox("Task (suite · workload)", labels, key="pareto_task", index=labels.index(wanted)
                        if wanted in labels else 0, help="Losses compare only within one workload of one suite.")
    st.query_params["task"] = task
    suite, workload = tasks[labels.index(task)]
    mine = df[(df["suite"] == suite) & (df["workload"] == workload)]
    for cost, title in (("train_time_s", "Loss against wall-clock"), ("energy_j", "Loss against energy")):
        st.subheader(title, anchor=False)
        rows = data.apply_filters(frame(mine, board, cost), chosen)
        if rows.empty:
            st.info(f"No finished final-phase trials with a recorded `{cost}` in this view"
                    + (" (energy needs NVML on a GPU, or CodeCarbon)." if cost == "energy_j" else "."))
            continue
        if cost == "energy_j" and (rows["energy_method"] != "measured").any():
            st.warning("Some energy here is **estimated** (CodeCarbon's model of CPU/RAM power without RAPL), not "
                       "measured: do not rank on it. Panels say which.")
        for panel, part in rows.groupby("panel", sort=True):
            if len(part) < 2:
                st.caption(f"{panel}: one study in this view, no trade-off to draw.")
                continue
            st.markdown(f"**{panel}**")
            st.altair_chart(chart(part, cost, look.method_color(data.colors(), part)), width="stretch")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
