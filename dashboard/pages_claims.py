"""Claims: one verdict per claim, scale and hardware (``claims.summarize`` of ``claims.judge_board``),
measured claims first, the paper's number beside ours and beside published replications, its source linked;
per-budget details below and the claims not measured yet at the end."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, look, verdicts
from harness.stats.replications import beside

COLUMN_CONFIG = {
    "method": st.column_config.TextColumn("method", pinned=True, help="The method that makes the claim."),
    "verdict": st.column_config.TextColumn("verdict", help="supported: the interval clears 'no effect' and reaches the "
                                                          "claim at every budget; not supported: it stays below the "
                                                          "claim; mixed: supported at some budgets, not at others; "
                                                          "inconclusive: undecided."),
    "paper": st.column_config.TextColumn("paper says", help="The claimed factor, as the paper states it."),
    "ours": st.column_config.TextColumn("we measured", help="Point estimate and 95% interval at the largest budget "
                                                             "measured (a bound when only a bound is known)."),
    "published": st.column_config.TextColumn("published replications", help="Independent published numbers for "
                                             "the same claim, at the scale nearest the paper's: this project's "
                                             "estimator on their final losses where they published them, else "
                                             "their own figure (published/README.md lists the sources)."),
    "baseline": st.column_config.TextColumn("vs", help="The baseline the claim is measured against."),
    "where": st.column_config.TextColumn("workload / scale", help="Where it was measured (a smaller model than the "
                                                                  "paper's is labelled scaled-down)."),
    "budgets": st.column_config.TextColumn("budgets", help="The budgets (× Chinchilla) the verdict rests on."),
    "hardware": st.column_config.TextColumn("hardware", help=data.FILTER_HELP["hardware"]),
    "labels": st.column_config.TextColumn("labels", help="scaled-down, estimated energy, simulated … and the flags "
                                                         "of the measurement."),
}


def overview(summary: pd.DataFrame) -> pd.DataFrame:
    """The first table: one row per claim, scale and hardware, the paper's number beside ours."""
    out = pd.DataFrame({
        "method": summary["method"], "verdict": summary["verdict"], "paper": summary["claimed_text"],
        "ours": summary["measured"].map(look.times),
        "baseline": summary["baseline"], "where": summary["workload"] + " / " + summary["scale"],
        "published": summary["published"].map(look.times),
        "budgets": summary["budgets"].map(look.text), "hardware": summary["hardware"],
        "labels": [", ".join(x for x in (look.text(a).strip("—"), look.text(b).strip("—")) if x)
                   for a, b in zip(summary["labels"], summary["flags"])],
    })
    return out.style.map(lambda v: f"color: {verdicts.COLORS.get(v, '#000')}; font-weight: 600", subset=["verdict"])


def main() -> None:
    entries = verdicts.all_claims()
    opened = data.page("Claims", "What each paper claims, beside what this harness measured: one verdict per claim "
                       "and scale. A verdict needs a confidence interval: supported only when the interval clears 'no "
                       "speedup' and reaches the claimed factor.",
                       columns=("suite", "workload", "scale", "hardware"))  # what a verdict is per
    if not entries:
        st.info("No registered method carries a claim.")
        return
    if opened is None:
        return
    df, chosen, _ = opened
    summary = verdicts.per_scale()
    path = data.results_path()
    judged = verdicts.judged(str(path), data.stamp(path))[0]
    claims = {(method, claim.quote, claim.factor): claim for _, method, claim in entries}
    if not summary.empty:
        summary = data.apply_filters(summary, chosen)
        known = data.published_data()
        keys = list(zip(summary["method"], summary["quote"], summary["claimed"], strict=True))
        texts = {k: (beside(k[0], claims[k], known, brief=True), beside(k[0], claims[k], known))
                 for k in dict.fromkeys(keys)}  # once per claim, not per scale and hardware (~0.1 s each)
        summary["published"] = [texts[k][0] for k in keys]
        summary["published_in_full"] = [texts[k][1] for k in keys]
    if summary.empty:
        st.info("No claim is measured in this view yet: run a claim's suite with the method and its baseline.")
    else:
        st.dataframe(overview(summary), hide_index=True, column_config=COLUMN_CONFIG)
        for i, (key, part) in enumerate(summary.groupby(["method", "quote", "claimed"], sort=False)):
            claim, first = claims[key], part.iloc[0]  # one paper sentence can carry several claims
            with st.container(border=True, key=f"claim-{i}"):
                st.markdown(f"#### `{first['method']}`: {first['claimed_text']} vs `{first['baseline']}`")
                st.markdown(verdicts.quote(claim))
                st.markdown("\n".join(f"- {verdicts.badge(r['verdict'])} **{r['hardware']}** · {r['sentence']}"
                                       for _, r in part.iterrows()))
                if first["published_in_full"] != "—":
                    st.markdown(f"Published replications: {look.times(first['published_in_full'])}")
                with st.expander("Per budget"):
                    rows = judged[(judged["method"] == key[0]) & (judged["quote"] == key[1])
                                  & (judged["claimed"] == key[2])]
                    st.dataframe(rows[["workload", "scale", "budget_multiple", "hardware", "measured",
                                       "verdict", "basis", "labels", "reason"]], hide_index=True)
    measured = set(judged["quote"]) if not judged.empty else set()
    waiting = [(m, c) for _, m, c in entries if c.quote not in measured]
    if waiting:
        with st.expander(f"{len(waiting)} claim(s) not measured yet"):
            for method, claim in waiting:
                st.markdown(f"**`{method}`** vs `{claim.baseline}` — run suite `{claim.suite}` with `{method}` and "
                            f"`{claim.baseline}`.\n\n{verdicts.quote(claim)}")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
