"""Who wins: per suite, for each workload, scale and budget the method with the lowest final loss
(methods whose intervals overlap tie), its data speedup over the suite's baseline with the 95%
interval, the claim verdicts, and the AlgoPerf performance profile and score of the suite."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import data, look, verdicts
from harness.stats import analysis

if TYPE_CHECKING:
    import altair as alt

TAUS = np.linspace(1.0, 4.0, 61)


def winners(board: pd.DataFrame) -> pd.DataFrame:
    """One row per (workload, scale, budget, hardware): the rank-1 method(s), its speedup as text
    as ``harness.stats`` prints it (``1.41× [1.35, 1.47]``, a bound ``> 2.00×``, or ``1.00× (baseline)``), its
    seeds and flags."""
    rows = []
    keys = ["workload", "scale", "budget_multiple", "hardware"]
    for key, g in board.groupby(keys, sort=False):
        first = g[g["rank"] == 1]
        row = dict(zip(keys, key, strict=True))
        row["study"] = f"{key[0]} · {key[1]} · {key[2]:g}×"
        if len(first) > 1:  # a tie: the speedup of its best member that is not the baseline
            first = first.sort_values("loss")
            best = first[first["method"] != first["baseline"]].iloc[0]
            row.update(winner="tie: " + ", ".join(first["method"]),
                       seeds=", ".join(str(int(n)) for n in first["n_seeds"]),
                       speedup=f"{best['method']}: {look.times(best['data_speedup_text'])}",
                       flags=", ".join(sorted({f for v in first["flags"].fillna("") for f in v.split(", ") if f})))
        else:
            w = first.iloc[0]
            row.update(winner=w["method"], seeds=str(int(w["n_seeds"])), flags=look.text(w.get("flags")).strip("—"),
                       speedup=look.times(w["data_speedup_text"]))
        row["vs"] = g["baseline"].iloc[0]
        rows.append(row)
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False)
def profiles(path: str, key: str) -> dict[tuple[str, str], tuple[pd.DataFrame, pd.Series]]:
    """``analysis.performance_profile`` and ``analysis.algoperf_score`` of time to target, per (suite,
    hardware), on every study of the suite (filters do not change them)."""
    df = data.read(path, key)[0]
    out = {}
    for (suite, hardware), part in df.groupby(["suite", "hardware"]):
        times = analysis.target_times(part)
        if times.empty or not np.isfinite(times.to_numpy(float)).any():
            continue
        out[(suite, hardware)] = (analysis.performance_profile(times, TAUS), analysis.algoperf_score(times))
    return out


def profile_chart(profile: pd.DataFrame, color: alt.Color) -> alt.Chart:
    import altair as alt  # lazily: only when the folded profile is drawn

    long = profile.reset_index().melt(id_vars="tau", var_name="method", value_name="rho")
    return alt.Chart(long).mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=alt.X("tau:Q", title="τ: time to target within τ× the fastest", scale=alt.Scale(domain=[1, 4])),
        y=alt.Y("rho:Q", title="fraction of studies", scale=alt.Scale(domain=[0, 1])), color=color,
        tooltip=["method", alt.Tooltip("tau:Q", format=".2f"), alt.Tooltip("rho:Q", format=".2f")]
    ).properties(height=320)


def suite_section(suite: str, board: pd.DataFrame, everything: pd.DataFrame, shown_rows: pd.DataFrame,
                  profs: dict):
    """The suite's winners and scores; returns the empty place its claims go (filled once judged)."""
    st.header(f"Suite `{suite}`", anchor=f"suite-{suite}")
    for hardware, part in board.groupby("hardware", sort=False):
        table = winners(part)
        st.markdown(f"**{hardware}** · speedups are over **`{table['vs'].iloc[0]}`** (data speedup D*/D, 95% "
                    "interval over seeds)")
        shown = table[["study", "winner", "speedup", "seeds", "flags"]].copy()
        shown["speedup"] = shown["speedup"].str.replace(r"^([<>])", r"\\\1", regex=True)  # st.table reads markdown
        shown = shown.drop(columns=[c for c in ("flags",) if not shown[c].astype(bool).any()])
        st.table(shown.rename(columns={"speedup": f"speedup over {table['vs'].iloc[0]}"}).set_index("study"))
        if (suite, hardware) in profs:
            prof, score = profs[(suite, hardware)]
            ranked = score.sort_values(ascending=False)
            st.markdown("AlgoPerf score (time to target, τ ≤ 4; 1 = fastest on every study): "
                        + " · ".join(f"`{m}` **{v:.2f}**" for m, v in ranked.items()),
                        help="Area under the performance profile up to τ = 4, scaled to [0, 1].")
            with st.expander("Performance profile"):
                st.altair_chart(profile_chart(prof, look.method_color(everything, shown_rows)), width="stretch")
    return st.container()


def claims_section(mine: pd.DataFrame) -> None:
    if len(mine):
        st.markdown(f"**Claims against `{mine['baseline'].iloc[0]}`** (one verdict per claim, scale and hardware; "
                    "claims against other baselines and the details are on the Claims page)")
        lines = [f"- {verdicts.badge(r['verdict'])} `{r['method']}`: {r['claimed_text']} vs `{r['baseline']}` "
                 f"· {r['workload']}/{r['scale']} · {r['hardware']}" for _, r in mine.iterrows()]
        st.markdown("\n".join(lines))


def main() -> None:
    opened = data.page("Who wins", "Per suite: at each workload, scale and budget the method with the lowest final "
                       "loss (methods whose intervals overlap tie), and how much less data it needs than the baseline "
                       "for the same loss.", leaderboard=True,
                       empty="No final-phase trials match these filters: a winner needs the final seeds of a study.")
    if opened is None:
        return
    df, chosen, board = opened
    path = data.results_path()
    profs = profiles(str(path), data.stamp(path))
    shown = data.apply_filters(df, chosen)
    places = {suite: suite_section(suite, part, df, shown[shown["suite"] == suite], profs)
              for suite, part in board.groupby("suite", sort=True)}
    judged = verdicts.per_scale()
    if not judged.empty:
        judged = data.apply_filters(judged, chosen)
        for suite, place in places.items():
            with place:
                claims_section(judged[judged["suite"] == suite])


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
