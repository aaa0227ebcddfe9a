"""Claims: per suite (the first screen's order), one card per claim — the paper's words and number, linked, then one
line per scale with its verdict (``engine.judge``, as ``harness verify`` prints it) and published replications;
per-budget details folded; every verdict in one table below; then whether our tier predicts the published one (as
``harness verify method=all --reference`` prints it); the claims not measured yet at the end."""

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


TIER = {"method": "", "scale": "our scale", "ours": "ours (95%)", "published": "published", "agreement": "agreement"}
TIER_WORDS = ("**agrees**: the same side of 1×; **disagrees**: opposite sides; **ours holds 1×**: our interval "
              "contains 1×, so ours cannot say; a bound (<) has a side only beyond 1×. Published: the source's final "
              "losses through our estimator, one run per size, no interval.")


def _of(frame: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The rows of ``frame`` with every column of ``where`` at its value."""
    return frame[(frame[list(where)] == pd.Series(where)).all(axis=1)]


def tier_rows(near: pd.DataFrame, mark: str) -> list[dict[str, str]]:
    """The tier table's cells (HTML): ours with its interval, the published figure, the agreement coloured."""
    tone = {"agrees": "sp-good", "disagrees": "sp-bad"}
    return [{"method": f'<span class="sp-big">{look.esc(r.method)}</span>', "scale": look.esc(r.ours_scale),
             "ours": look.esc(look.times(r.ours_text)).replace("open", f"open{mark}"),
             "published": look.esc(look.times(r.published_text.replace(" (no interval)", ""))),
             "agreement": f'<span class="{tone.get(r.agreement, "sp-none")}">{look.esc(r.agreement)}</span>'}
            for r in near.itertuples()]


def tier_check(chosen: dict) -> None:
    """Does our tier predict the published one? Per suite and hardware with published replications: our data
    speedup at 1× at each of our scales beside the published one at its smallest scale, the rank agreement per our
    scale and the trends with size (as ``harness verify method=all --reference`` prints them)."""
    st.subheader("Does our tier predict the published one?", anchor="tiers")
    found = data.current()
    table = data.apply_filters(found["tiers"].assign(scale=found["tiers"]["ours_scale"]), chosen)
    if table.empty:
        st.caption("No published replication of these methods against their baseline in this view (Marin's "
                   "optimizers against adamw are the only ones): nothing to compare.")
        return
    ranks = data.apply_filters(found["tier_ranks"].assign(scale=found["tier_ranks"]["ours_scale"]), chosen)
    keys = ["suite", "suite_version", "hardware", "baseline"]
    for i, (values, part) in enumerate(table.groupby(keys, sort=False)):
        suite, _, hardware, base = values
        here = dict(zip(keys, values, strict=True))
        first = part.sort_values("published_params")["published_scale"].iloc[0]
        near = part[part["published_scale"] == first]
        opened = near[near["ours_text"].str.contains("open")]
        st.markdown(f"Suite `{suite}` · {hardware}: our data speedup over `{base}` at 1× Chinchilla, at each of our "
                    f"scales, beside the published one at **{first}** ({near['source'].iloc[0]}), the "
                    f"smallest published scale.")
        st.html(look.cards(tier_rows(near, "¹" if len(opened) else ""), TIER, f"tiers-{i}"))
        spans = "; ".join(dict.fromkeys(f"{r.ours_scale}: {look.measurable(r.speedup_range_lo, r.speedup_range_hi)}"
                                        for r in opened.itertuples()))
        st.caption(TIER_WORDS + (f" ¹ {look.open_note(base, spans)}." if len(opened) else ""))
        lines = [f"- Rank agreement, our **{r.ours_scale}** vs published {r.published_scale} over {r.n} "
                 f"method{'s' if r.n != 1 else ''}: "
                 + (f"Spearman ρ **{r.rho:.2f}** [{r.lo:.2f}, {r.hi:.2f}] (95% bootstrap over methods), "
                    f"permutation p = {r.p:.2f}" if pd.notna(r.p) else "cannot be measured (it needs 3 or more "
                    "methods whose speedups differ)") for r in _of(ranks, here).itertuples()]
        lines += [f"- Trend with size, `{r.method}`: ours {r.ours.replace('->', '→')} ({r.ours_trend}), published "
                  f"{r.published.replace('->', '→')} ({r.published_trend}): **{r.agreement}**"
                  for r in _of(found["tier_trends"], here).itertuples()]
        st.markdown("\n".join(lines))


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
    tier_check(chosen)
    measured = set(judged["quote"]) if not judged.empty else set()
    waiting = [(m, c) for _, m, c in entries if c.quote not in measured]
    if waiting:
        with st.expander(f"{len(waiting)} claim(s) not measured yet"):
            for method, claim in waiting:
                st.markdown(f"**`{method}`** vs `{claim.baseline}` — run suite `{claim.suite}` with `{method}` and "
                            f"`{claim.baseline}`.\n\n{verdicts.quote(claim)}")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
