"""Method: what a registered method is — its summary, its formula (the module docstring), its
paper (linked), defaults, search space and claims, as the catalog describes it (``harness.report.methods``:
no method file is imported) — and what was measured: its leaderboard rows and the verdicts on its claims."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, look, verdicts
from harness import report


def space(entry) -> pd.DataFrame:
    """The search space of a catalog entry: a Choice's values, else a distribution's range."""
    rows = []
    for hp, dist in entry.search_space.items():
        kind = type(dist).__name__
        values = ", ".join(map(str, dist.values)) if kind == "Choice" else f"[{dist.low:g}, {dist.high:g}]"
        rows.append({"hyperparameter": hp, "distribution": kind, "values": values,
                     "default": str(entry.defaults.get(hp, ""))})
    return pd.DataFrame(rows, columns=["hyperparameter", "distribution", "values", "default"])


def show(kind: str, entry) -> None:
    st.header(f"`{entry.name}` · {kind}")
    if entry.summary:
        st.markdown(f"**{entry.summary}**")
    st.markdown(f"**Paper:** {look.linked(entry.citation)}")
    extras = []
    if entry.needs:
        extras.append(f"needs from the trainer: {', '.join(entry.needs)}")
    if entry.architecture:
        extras.append(f"native architecture: {entry.architecture}")
    if extras:
        st.caption(" · ".join(extras))
    results(entry)
    st.subheader("Definition")
    st.code(entry.doc, language=None)
    left, right = st.columns(2)
    left.subheader("Defaults")
    left.json(entry.defaults)
    right.subheader("Search space")
    right.dataframe(space(entry), hide_index=True)
    st.subheader("Claims")
    if not entry.claims:
        st.caption("No claim registered (a baseline, or a method without a quantitative claim).")
    for claim in entry.claims:
        st.markdown(verdicts.quote(claim))


def results(entry) -> None:
    """The method's leaderboard rows (every suite it ran in) and one verdict per claim and scale."""
    st.subheader("Results")
    found = data.current()
    data.listed(found["problems"])
    board = found["board"]
    mine = board[board["method"] == entry.name] if not board.empty else board
    if mine.empty:
        st.info(f"No final-phase results of `{entry.name}` in `{data.results_path()}` yet.")
    else:
        table = pd.DataFrame({  # what a phone must reach first: where, the speedup and its caveats
            "suite": mine["suite"], "scale": mine["scale"], "budget": mine["budget_multiple"].map(lambda b: f"{b:g}×"),
            "speedup": mine["data_speedup_text"].map(look.times),
            "flags": mine.get("flags", pd.Series(None, index=mine.index)).map(look.text), "rank": mine["rank"],
            "vs": mine["baseline"], "loss": mine["loss"], "seeds": mine["n_seeds"], "workload": mine["workload"],
            "hardware": mine["hardware"]})
        st.dataframe(table, hide_index=True, column_config={"loss": st.column_config.NumberColumn(format="%.4f")})
        ends = mine[mine["data_speedup_text"].astype(str).str.contains("open")]
        if len(ends):
            where = "; ".join(dict.fromkeys(f"{r.suite} {r.scale} · {r.budget_multiple:g}×: "
                                            f"{look.measurable(r.speedup_range_lo, r.speedup_range_hi)}"
                                            for r in ends.itertuples()))
            st.caption(f"Speedup: {look.open_note('the baseline', where)}.")
    judged = verdicts.per_scale([entry.name])
    for _, part in judged.groupby(["quote", "claimed"], sort=False) if len(judged) else ():  # per claim, per scale
        lines = [f"- {verdicts.badge(r['verdict'], labels=r['labels'])} {look.times(r['sentence'])} ({r['hardware']})"
                 for _, r in part.iterrows()]
        st.markdown(f"**{part['claimed_text'].iloc[0]} vs `{part['baseline'].iloc[0]}`**\n\n" + "\n".join(lines))


def main() -> None:
    st.title("Method")
    entries = report.methods()
    names = [(k, n) for k, part in entries.items() for n in part]
    board = data.current()["board"]
    ran = [*data.current()["lines"].get("method", []), *sorted(board["method"].unique() if len(board) else [])]
    wanted = st.query_params.get("method")  # else the first screen's first best method, else one with results
    default = next((i for i, (_, n) in enumerate(names) if n == wanted),
                   next((names.index(kn) for m in ran for kn in names if kn[1] == m), 0))
    kind, name = st.selectbox("Method", names, index=default, format_func=lambda kn: f"{kn[1]} ({kn[0]})",
                              help="Every file in implementations/; the name is the file stem.")
    st.query_params["method"] = name
    entry = entries[kind][name]
    if entry.reason is None:
        show(kind, entry)
    else:
        st.error(f"`{name}` is registered but unavailable: {entry.reason}")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
