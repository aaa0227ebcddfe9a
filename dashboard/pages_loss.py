"""Loss vs budget: each method's final losses (one point per seed) against the training budget,
with the baseline's fitted curve L(D) = a·D^-b + c (``power_law.fit_power_law``); one panel per suite,
workload, scale and hardware, each with its own axes and the budget's unit (tokens or examples)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import data, look
from harness.stats import power_law


def trials(df: pd.DataFrame) -> pd.DataFrame:
    """Final-phase trials that finished with a loss, with their panel (suite · workload · scale ·
    hardware) and the unit their budget counts."""
    ok = df[(df["phase"] == "final") & (df["status"] == "ok") & df["final_val_loss"].notna()].copy()
    ok["budget"] = ok["budget_tokens"].astype(float)
    ok["panel"] = ok["suite"] + " · " + ok["workload"] + " · " + ok["scale"] + " · " + ok["hardware"]
    units = ok.groupby("workload")["val_metric_name"].agg(look.unit)
    ok["unit"] = ok["workload"].map(units)
    return ok[["panel", "scale", "suite", "suite_version", "hardware", "workload", "unit", "method", "seed",
               "budget", "budget_multiple", "final_val_loss"]]


def fits(points: pd.DataFrame, baselines: dict[str, str | None]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The fitted curve of the suite's baseline (``baselines``: suite -> method) per panel (60 budgets spanning the
    panel), and the panels where no fit could be trusted (see ``power_law.fit_power_law``), with why."""
    curves, failed = [], {}
    for (panel, suite), g in points.groupby(["panel", "suite"]):
        baseline = baselines.get(suite)
        means = g[g["method"] == baseline].groupby("budget")["final_val_loss"].mean()
        law = power_law.fit_power_law(means.index, means.values) if len(means) else None
        if law is None:
            failed[panel] = f"baseline `{baseline}`, {len(means)} budget(s)"
            continue
        grid = np.geomspace(g["budget"].min(), g["budget"].max(), 60)
        curves.append(pd.DataFrame({"panel": panel, "budget": grid, "fit_loss": law.loss(grid),
                                    "fit": f"{baseline}: {law.a:.3g}·(D/{law.d0:.3g})^-{law.b:.3g} + {law.c:.3g}"}))
    out = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["panel", "budget", "fit_loss",
                                                                                     "fit"])
    return out, failed


def chart(points: pd.DataFrame, curves: pd.DataFrame, color: alt.Color) -> alt.LayerChart:
    """One panel: seeds as dots, each method's mean as a thin line, the baseline's fit dashed."""
    unit = points["unit"].iloc[0]
    x = alt.X("budget:Q", scale=alt.Scale(type="log", nice=False, padding=12), title=f"budget (training {unit}, log)",
              axis=alt.Axis(format="~s"))
    y = alt.Y("final_val_loss:Q", scale=alt.Scale(zero=False), title="final validation loss")
    dots = alt.Chart(points).mark_circle(size=45, opacity=0.75).encode(
        x=x, y=y, color=color, tooltip=["method", "seed", "budget_multiple", alt.Tooltip("budget:Q", format=",.0f"),
                                        alt.Tooltip("final_val_loss:Q", format=".4f")])
    means = alt.Chart(points).mark_line(strokeWidth=1, opacity=0.6).encode(x=x, y="mean(final_val_loss):Q",
                                                                          color=color)
    layers = [means, dots]
    if len(curves):
        fit = alt.Chart(curves).mark_line(color="black", strokeDash=[6, 4], strokeWidth=2).encode(
            x=x, y=alt.Y("fit_loss:Q"), tooltip=["fit"])
        layers.insert(0, fit)
    return alt.layer(*layers).properties(height=look.height(240, points))


def main() -> None:
    opened = data.page("Loss vs budget", "Final validation loss of every final-phase seed against its budget; thin "
                       "lines join each method's mean. The dashed black curve is a power-law fit L(D) = a·D^-b + c of "
                       "the baseline, to read the trend: speedups interpolate between the baseline's measured budgets, "
                       "they do not use the fit. A panel with a single budget is not drawn.")
    if opened is None:
        return
    df, chosen, _ = opened
    every = trials(df)  # the baseline is fitted on every budget of its study: filters only hide points
    points = data.apply_filters(every, chosen)
    if points.empty:
        st.info("No finished final-phase trials in this view.")
        return
    curves, failed = fits(every, data.baselines())
    budgets = points.groupby("panel")["budget"].nunique()
    single = sorted(budgets.index[budgets < 2])
    order = {s: i for i, s in enumerate(data.scale_order(df))}
    suites = {s: i for i, s in enumerate(data.suite_order())}
    panels = points[~points["panel"].isin(single)]
    panels = panels.assign(s=panels["suite"].map(suites), o=panels["scale"].map(order)).sort_values(
        ["s", "workload", "o", "panel"])
    cells, fixed = st.columns(2), data.colors()
    for i, panel in enumerate(panels["panel"].unique()):
        mine = points[points["panel"] == panel]
        with cells[i % 2]:
            st.markdown(f"**{panel}**")
            st.altair_chart(chart(mine, curves[curves["panel"] == panel], look.method_color(fixed, mine)),
                            width="stretch")
            if panel in failed:
                st.caption(f"⚠ No trustworthy power-law fit of the baseline here ({failed[panel]}; it needs 3 or more "
                           "budgets with decreasing loss): no dashed curve.")
    if single:
        st.caption("Not drawn (every method ran one budget there: see the Leaderboard): " + "; ".join(single) + ".")
    if not curves.empty:
        st.dataframe(curves.groupby("panel")["fit"].first().reset_index(), hide_index=True,
                     column_config={"fit": st.column_config.TextColumn(
                         "baseline fit", help="Fitted on budgets in units of the smallest budget d0.")})


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
