"""Speedup vs scale: each method's data speedup over the baseline at every model scale, one
panel per budget, with the 95% interval as bars and the baseline at 1.0."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data


def frame(board: pd.DataFrame) -> pd.DataFrame:
    """The chart's rows: one per (panel, budget, scale, method), scales in parameter order."""
    out = board[["workload", "hardware", "scale", "params", "budget_multiple", "method", "baseline", "data_speedup",
                 "data_speedup_lo", "data_speedup_hi", "data_speedup_kind", "n_seeds"]].copy()
    out = out[out["data_speedup"].notna()]
    out["budget"] = out["budget_multiple"].map(lambda b: f"{b:g}× Chinchilla")
    out["panel"] = out["workload"] + " · " + out["hardware"]
    out["bound"] = out["data_speedup_kind"].isin(["lower_bound", "upper_bound"]).map({True: "yes", False: "no"})
    return out.reset_index(drop=True)


def chart(rows: pd.DataFrame, scales: list[str], color: alt.Color) -> alt.FacetChart:
    x = alt.X("scale:N", sort=scales, title="model scale (small → large)")
    tooltip = ["method", "scale", "params", "budget", alt.Tooltip("data_speedup:Q", format=".3f", title="speedup"),
               alt.Tooltip("data_speedup_lo:Q", format=".3f", title="CI low"),
               alt.Tooltip("data_speedup_hi:Q", format=".3f", title="CI high"), "bound", "n_seeds"]
    base = alt.Chart()
    line = base.mark_line().encode(x=x, y=alt.Y("data_speedup:Q", title="data speedup over baseline (×)",
                                                 scale=alt.Scale(zero=False)), color=color)
    points = base.mark_point(size=70, filled=True).encode(
        x=x, y="data_speedup:Q", color=color, tooltip=tooltip,
        shape=alt.Shape("bound:N", scale=alt.Scale(domain=["no", "yes"], range=["circle", "triangle"]),
                        title="only a bound"))
    bars = base.mark_errorbar(ticks=True).encode(x=x, y=alt.Y("data_speedup_lo:Q", title=""),
                                                 y2="data_speedup_hi:Q", color=color)
    one = base.mark_rule(strokeDash=[5, 4], color="gray").encode(y=alt.datum(1.0))
    layered = alt.layer(one, bars, line, points, data=rows).properties(width=260, height=240)
    return layered.facet(column=alt.Column("budget:N", title=None),
                         row=alt.Row("panel:N", title=None)).resolve_scale(y="shared")


def main() -> None:
    st.title("Speedup vs scale")
    st.caption("Data speedup D*/D over the suite's baseline (dashed line at 1.0): above the line the method reaches "
               "a lower loss than the baseline would with the same data. Bars are 95% intervals over seeds; "
               "triangles are bounds: the method lies beyond the baseline's measured budgets.")
    df = data.load()
    if df is not None:
        path = data.results_path()
        chosen = data.sidebar_filters(df)
        board, notes = data.board(str(path), data.stamp(path), tuple(sorted(chosen.items())))
        for note in notes:
            st.warning(note)
        rows = frame(board) if not board.empty else pd.DataFrame()
        if rows.empty:
            st.info("No speedups in this view: they need final-phase trials of the baseline and of a method at "
                    "two or more budgets of the same scale.")
        else:
            st.altair_chart(chart(rows, data.scale_order(df), data.method_color(df)))
            with st.expander("The numbers behind the chart"):
                st.dataframe(rows.drop(columns=["panel", "data_speedup_kind"]), hide_index=True)


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
