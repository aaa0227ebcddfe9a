"""Claims: per suite (the first screen's order), one card per claim — the paper's words and number, linked, then one
line per scale with its verdict (``engine.judge``, as ``harness verify`` prints it) and published replications;
per-budget details folded; every verdict in one table below; the claims not measured yet at the end."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, look, verdicts
from harness.stats import overview
from harness.stats.replications import beside

COLUMN_CONFIG = {
    "method": st.column_config.TextColumn("method", pinned=True, help="The method that makes the claim."),
    "verdict": st.column_config.TextColumn("verdict", help="supported: the interval clears 'no effect' and reaches the "
                                                          "claim at every budget; not supported: it stays below the "
                                                          "claim; mixed: supported at some budgets, not at others; "
                                                          "inconclusive: undecided. (scaled-down): judged on a "
                                                          "smaller model than the paper's: evidence, never a verdict "
                                                          "on the claim."),
    "ours": st.column_config.TextColumn("we measured", help="Point estimate and interval at each budget measured, "
                                                             "with its confidence (a bound when only a bound is "
                                                             "known; 'open': that end lies beyond the baseline's "
                                                             "budgets)."),
    "paper": st.column_config.TextColumn("paper says", help="The claimed factor, as the paper states it."),
    "where": st.column_config.TextColumn("workload / scale", help="Where it was measured (a smaller model than the "
                                                                  "paper's is labelled scaled-down)."),
    "baseline": st.column_config.TextColumn("vs", help="The baseline the claim is measured against."),
    "published": st.column_config.TextColumn("published replications", help="Independent published numbers for "
                                             "the same claim, at the scale nearest the paper's: this project's "
                                             "estimator on their final losses where they published them, else "
                                             "their own figure (published/README.md lists the sources)."),
    "budgets": st.column_config.TextColumn("budgets", help="The budgets (× Chinchilla) the verdict rests on."),
    "hardware": st.column_config.TextColumn("hardware", help=data.FILTER_HELP["hardware"]),
    "labels": st.column_config.TextColumn("labels", help="scaled-down, estimated energy, simulated … and the flags "
                                                         "of the measurement."),
}


def table(summary: pd.DataFrame) -> pd.DataFrame:
    """Every verdict in one table: one row per claim, scale and hardware, the paper's number beside ours."""
    out = pd.DataFrame({
        "method": summary["method"], "verdict": [overview.scoped(v, x) for v, x in zip(
            summary["verdict"], summary["labels"], strict=True)], "ours": summary["measured"].map(look.times),
        "paper": summary["claimed_text"], "where": summary["workload"] + " / " + summary["scale"],
        "baseline": summary["baseline"], "published": summary["published"].map(look.times),
        "budgets": summary["budgets"].map(look.text), "hardware": summary["hardware"],
        "labels": [", ".join(x for x in (look.text(a).strip("—"), look.text(b).strip("—")) if x)
                   for a, b in zip(summary["labels"], summary["flags"])],
    })
    return out.style.map(lambda v: f"color: {verdicts.COLORS.get(v, '#000')}; font-weight: 600", subset=["verdict"])


def card(i: int, claim, part: pd.DataFrame, details: pd.DataFrame) -> None:
    """One claim: its words, then one line per scale (and hardware) with the verdict, published numbers, budgets."""
    first = part.iloc[0]
    with st.container(border=True, key=f"claim-{i}"):
        st.markdown(f"#### `{first['method']}`: {first['claimed_text']} vs `{first['baseline']}`")
        st.markdown(verdicts.quote(claim))
        st.markdown("\n".join(f"- {verdicts.badge(r['verdict'], labels=r['labels'])} **{r['workload']}/{r['scale']}** "
                               f"· {r['hardware']} · {look.times(r['sentence'])}" for _, r in part.iterrows()))
        if first["published_in_full"] != "—":
            st.markdown(f"Published replications: {look.times(first['published_in_full'])}")
        with st.expander("Per budget"):
            st.dataframe(details[["workload", "scale", "budget_multiple", "hardware", "measured", "verdict",
                                  "basis", "labels", "reason"]], hide_index=True)


def main() -> None:
    entries = verdicts.all_claims()
    opened = data.page("Claims", "What each paper claims, beside what this harness measured: one card per claim, one "
                       "line per scale. Supported only when the interval clears 'no speedup' and reaches 90% of the "
                       "claimed factor; a smaller model than the paper's gives evidence (scaled-down), never a "
                       "verdict.", columns=("suite", "workload", "scale", "hardware"))  # what a verdict is per
    if not entries:
        st.info("No registered method carries a claim.")
        return
    if opened is None:
        return
    _, chosen, _ = opened
    summary, judged = verdicts.per_scale(), verdicts.per_budget()
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
        counts = pd.Series([overview.scoped(v, x) for v, x in zip(summary["verdict"], summary["labels"],
                                                                  strict=True)]).value_counts()
        st.markdown(f"**{len(summary)} verdicts** (one per claim and scale): " + " · ".join(
            verdicts.badge(v, f"{n} {v}") for v, n in counts.items()))
        order = {s: i for i, s in enumerate(data.suite_order())}
        summary = summary.assign(_o=summary["suite"].map(order)).sort_values("_o", kind="stable")
        i = 0
        for suite, mine in summary.groupby("suite", sort=False):
            st.subheader(f"Suite `{suite}`", anchor=False)
            for key, part in mine.groupby(["method", "quote", "claimed"], sort=False):
                details = judged[(judged["method"] == key[0]) & (judged["quote"] == key[1])
                                 & (judged["claimed"] == key[2])]
                card(i, claims[key], part, details)  # one paper sentence can carry several claims
                i += 1
        st.subheader("Every verdict", anchor=False)
        st.dataframe(table(summary.drop(columns="_o")), hide_index=True, column_config=COLUMN_CONFIG)
    measured = set(judged["quote"]) if not judged.empty else set()
    waiting = [(m, c) for _, m, c in entries if c.quote not in measured]
    if waiting:
        with st.expander(f"{len(waiting)} claim(s) not measured yet"):
            for method, claim in waiting:
                st.markdown(f"**`{method}`** vs `{claim.baseline}` — run suite `{claim.suite}` with `{method}` and "
                            f"`{claim.baseline}`.\n\n{verdicts.quote(claim)}")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
