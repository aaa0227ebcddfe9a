"""Loss vs budget: each method's final losses (one point per seed) against the training budget,
with the baseline's fitted curve L(D) = a·D^-b + c (``power_law.fit_power_law``)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import data
from harness.stats import power_law


def trials(df: pd.DataFrame) -> pd.DataFrame:
    """Final-phase trials that finished with a loss, with their panel (workload · scale · hardware)."""
    ok = df[(df["phase"] == "final") & (df["status"] == "ok") & df["final_val_loss"].notna()].copy()
    ok["budget"] = ok["budget_tokens"].astype(float)
    ok["panel"] = ok["workload"] + " · " + ok["scale"] + " · " + ok["hardware"]
    return ok[["panel", "scale", "suite", "method", "seed", "budget", "budget_multiple", "final_val_loss"]]


def fits(points: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The baseline's fitted curve per panel (60 budgets spanning the panel), and the panels where
    no fit could be trusted (see ``power_law.fit_power_law``)."""
    curves, failed = [], []
    for (panel, suite), g in points.groupby(["panel", "suite"]):
        baseline = data.suite_baseline(suite)
        means = g[g["method"] == baseline].groupby("budget")["final_val_loss"].mean()
        law = power_law.fit_power_law(means.index, means.values) if len(means) else None
        if law is None:
            failed.append(f"{panel} (baseline `{baseline}`, {len(means)} budget(s))")
            continue
        grid = np.geomspace(g["budget"].min(), g["budget"].max(), 60)
        curves.append(pd.DataFrame({"panel": panel, "budget": grid, "fit_loss": law.loss(grid),
                                    "fit": f"{baseline}: {law.a:.3g}·(D/{law.d0:.3g})^-{law.b:.3g} + {law.c:.3g}"}))
    out = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["panel", "budget", "fit_loss",
                                                                                     "fit"])
    return out, failed


def chart(points: pd.DataFrame, curves: pd.DataFrame, color: alt.Color, panels: list[str]) -> alt.FacetChart:
    both = pd.concat([points.assign(layer="trial"), curves.assign(layer="fit")], ignore_index=True)
    x = alt.X("budget:Q", scale=alt.Scale(type="log"), title="budget (training tokens, log)")
    base = alt.Chart()
    dots = base.transform_filter("datum.layer == 'trial'").mark_circle(size=45, opacity=0.75).encode(
        x=x, y=alt.Y("final_val_loss:Q", scale=alt.Scale(zero=False), title="final validation loss"),
        color=color, tooltip=["method", "seed", "budget_multiple", "budget",
                                              alt.Tooltip("final_val_loss:Q", format=".4f")])
    means = base.transform_filter("datum.layer == 'trial'").mark_line(strokeWidth=1, opacity=0.6).encode(
        x=x, y="mean(final_val_loss):Q", color=color)
    fit = base.transform_filter("datum.layer == 'fit'").mark_line(color="black", strokeDash=[6, 4], strokeWidth=2)
    fit = fit.encode(x=x, y="fit_loss:Q", tooltip=["fit"])
    return alt.layer(fit, means, dots, data=both).properties(width=320, height=260).facet(
        facet=alt.Facet("panel:N", title=None, sort=panels), columns=2).resolve_scale(x="independent")


def main() -> None:
    st.title("Loss vs budget")
    st.caption("Final validation loss of every final-phase seed against its budget. The dashed black curve is the "
               "baseline's power-law fit L(D) = a·D^-b + c that the data speedup inverts; thin lines join each "
               "method's mean.")
    df = data.load()
    if df is not None:
        chosen = data.sidebar_filters(df)
        points = trials(data.apply_filters(df, chosen))
        if points.empty:
            st.info("No finished final-phase trials in this view.")
        else:
            curves, failed = fits(points)
            if failed:
                st.warning("No trustworthy power-law fit of the baseline (it needs 3 or more budgets with decreasing "
                           "loss) for: " + "; ".join(failed) + ". The speedups there use monotone interpolation.")
            order = {s: i for i, s in enumerate(data.scale_order(df))}
            panels = points.assign(o=points["scale"].map(order)).sort_values(["o", "panel"])["panel"].unique()
            st.altair_chart(chart(points, curves, data.method_color(df), list(panels)))
            if not curves.empty:
                st.dataframe(curves.groupby("panel")["fit"].first().reset_index(), hide_index=True,
                             column_config={"fit": st.column_config.TextColumn(
                                 "baseline fit", help="Fitted on budgets in units of the smallest budget d0.")})


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
