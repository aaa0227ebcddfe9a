"""Who wins: first the answer, one line per suite (``overview.suite_lines``: the best method that learned and ran
two or more seeds, its speedup over the suite's baseline with the 95% interval and seeds, where, and the claims'
verdicts counted), suites with measured speedups and judged claims first; then per suite every study, the AlgoPerf
score over the studies every scored method ran, and the claims grouped per claim, one line per scale."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, look, verdicts
from harness.stats import overview

SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹"
CAPTION = ("Per suite, what was measured first: the best method, how much less data it needs than the baseline "
           "for the same loss, and what became of the papers' claims.")
LEGEND = ("**Best**: the lowest final loss among methods that learned and ran 2+ seeds. **Over the baseline**: data "
          "speedup D*/D (the baseline's data for the same loss ÷ the method's) with its 95% interval, else the loss "
          "difference. **Claims**: one verdict per claim and model scale; scaled-down = judged on a smaller model "
          "than the paper's: evidence at that scale, never a verdict on the claim. ⚠ caveats travel with the number.")
ANSWER = {"suite": "", "best": "best", "versus": "vs baseline (95%)", "where": "measured on", "claims": "claims"}
STUDY = {"study": "", "best": "best", "versus": "vs baseline (95%)", "seeds": "seeds",
         "caveats": "caveats"}


def best(line: pd.Series) -> str:
    """The best-method cell: the name, or why there is none, with the caveats that travel with it."""
    m, base = look.esc(line["method"]), look.esc(line["baseline"])
    head = {"winner": f'<span class="sp-big sp-good sp-winner">{m}</span>',
            "tie with baseline": '<span class="sp-big">no clear winner</span>'
                                 f"<small>best: {m}, inside {base}'s noise</small>",
            "baseline best": f'<span class="sp-big">none beats {base}</span><small>next best: {m}</small>',
            "only baseline": f'<span class="sp-big sp-none">Only the baseline ran</span><small>{base}</small>',
            "none qualifies": '<span class="sp-big sp-none">no method qualifies</span>'}[line["outcome"]]
    if line["outcome"] == "winner" and line["tied"]:
        why = "<span class='sp-wide'> (loss intervals overlap)</span>"
        head += f"<small>tied with {look.esc(line['tied'])}{why}</small>"
    if line["excluded"]:
        head += f"<small>not ranked: {look.esc(line['excluded'])}</small>"
    return head


def versus(line: pd.Series, mark: str = "") -> str:
    """The speedup (or loss difference) cell with its interval, the baseline and the seeds."""
    if line["outcome"] in ("only baseline", "none qualifies"):
        return '<span class="sp-none">—</span>'
    text = look.esc(look.times(line["versus"])).replace("open", f"open{mark}")
    how = f"over {look.esc(line['baseline'])}" if line["kind"] in ("value", "lower_bound", "upper_bound") else \
        f"than {look.esc(line['baseline'])} (one budget: no data speedup)"
    return f'<span class="sp-big">{text}</span><small>{how} · {int(line["n_seeds"])} seeds</small>'


def claims(line: pd.Series) -> str:
    """The verdicts counted: supported and not supported always, the rest when there are some; scaled-down evidence
    apart (never a verdict on the claim)."""
    counts = {c: int(line[c]) for c in dict.fromkeys(overview.COUNTS.values())}
    if not sum(counts.values()):
        return '<span class="sp-none">no claim judged</span>'
    parts = [f'<span class="{css if counts[c] else "sp-none"}">{counts[c]} {word}</span>' for c, word, css in (
        ("supported", "supported", "sp-good"), ("not_supported", "not supported", "sp-bad"))]
    parts += [f"{counts[c]} {word}" for c, word in (("mixed", "mixed"), ("inconclusive", "inconclusive")) if counts[c]]
    scaled = [f"{counts[c]} {w}" for c, w in (("scaled_for", "for"), ("scaled_against", "against"),
                                               ("scaled_inconclusive", "inconclusive")) if counts[c]]
    return " · ".join(parts) + (f"<small>scaled-down: {' · '.join(scaled)}</small>" if scaled else "")


def footnote(notes: dict[str, str], row: pd.Series) -> str:
    """The superscript explaining the open end of ``row``'s interval (a note added to ``notes`` when new); "" when
    its interval has no open end."""
    if "open" not in str(row["versus"]) or row["outcome"] in ("only baseline", "none qualifies"):
        return ""
    text = look.open_note(row["baseline"], look.measurable(row["range_lo"], row["range_hi"]))
    return notes.setdefault(text, SUPERSCRIPTS[len(notes) % len(SUPERSCRIPTS)])


def said(notes: dict[str, str]) -> str:
    return " ".join(f"{mark} {text}." for text, mark in notes.items())


def consistent(line: pd.Series) -> str:
    """How many of the suite's compared studies end the same way (said only when there are several)."""
    same, of = line["wins"].split(" of ")
    if int(of) < 2:
        return ""
    who = f"{look.esc(line['method'])} best" if line["outcome"] == "winner" else "the same"
    return f"<small>{who} in {same} of {of} compared studies</small>"


def answer(lines: pd.DataFrame, several: set[str]) -> tuple[str, str]:
    """The first screen's table (HTML: cards on a phone) and its footnotes (what each open end means)."""
    rows, notes = [], {}
    for _, line in lines.iterrows():
        mark = footnote(notes, line)
        where = f"{line['workload']} · {line['scale']} · {line['budget_multiple']:g}×"
        hardware = f" · {look.esc(line['hardware'])}" if line["suite"] in several else ""
        flags = f"<small class='sp-warn'>⚠ {look.esc(line['flags'])}</small>" if line["flags"] else ""
        rows.append({"suite": f'<span class="sp-big">{look.esc(line["suite"])}</span><small>baseline '
                              f'{look.esc(line["baseline"])}{hardware}</small>',
                     "best": best(line) + flags, "versus": versus(line, mark),
                     "where": look.esc(where) + f"<small class='sp-wide'>{line['params']:,.0f} parameters</small>"
                              + consistent(line),
                     "claims": claims(line)})
    return look.cards(rows, ANSWER, "answer"), said(notes)


def studies(table: pd.DataFrame) -> tuple[str, str]:
    """One suite's studies where a method other than the baseline ran (cards on a phone), and the others in a line."""
    alone = table[table["outcome"] == "only baseline"]
    rows, notes = [], {}
    for _, s in table[table["outcome"] != "only baseline"].iterrows():
        mark = footnote(notes, s)
        rows.append({"study": f'<span class="sp-big">{look.esc(s["workload"])} · {look.esc(s["scale"])} · '
                              f'{s["budget_multiple"]:g}×</span>',
                     "best": best(s), "versus": versus(s, mark), "seeds": str(int(s["n_seeds"])),
                     "caveats": f"<span class='sp-warn'>{look.esc(s['flags'])}</span>" if s["flags"] else "—"})
    text = look.cards(rows, STUDY, f"studies-{table['suite'].iloc[0]}") if rows else ""
    if len(alone):
        text += (f"<p><small>Only the baseline <code>{look.esc(alone['baseline'].iloc[0])}</code> ran at: "
                 + "; ".join(f"{look.esc(w)} · {look.esc(s)} · {b:g}×" for w, s, b in zip(
                     alone["workload"], alone["scale"], alone["budget_multiple"], strict=True)) + "</small></p>")
    return text, said(notes)


def score_line(scores: pd.DataFrame, flagged: bool) -> str:
    """The AlgoPerf score over the studies every scored method ran, and who was not scored."""
    scored = scores[scores["score"].notna()].sort_values("score", ascending=False)
    left = scores[scores["score"].isna()]
    n = len(scored["scored"].iloc[0].split("; "))
    text = (f"AlgoPerf score (time to target, τ ≤ 4; 1 = fastest on every study) over the {n} "
            f"stud{'y' if n == 1 else 'ies'} all {len(scored)} scored methods ran ({scored['scored'].iloc[0]}): "
            + " · ".join(f"`{m}` **{v:.2f}**" for m, v in zip(scored["method"], scored["score"], strict=True)))
    if len(left):
        text += ". Not scored (they did not run every one of these studies): " + ", ".join(
            f"`{m}` (ran {r} of {o})" for m, r, o in zip(left["method"], left["ran"], left["of"], strict=True))
    return text + (". ⚠ Times from a contended machine: unreliable." if flagged else ".")


def profile_chart(profile: pd.DataFrame, color):
    import altair as alt  # lazily: only once the answer is on screen

    return alt.Chart(profile).mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=alt.X("tau:Q", title="τ: time to target within τ× the fastest", scale=alt.Scale(domain=[1, 4])),
        y=alt.Y("rho:Q", title="fraction of studies", scale=alt.Scale(domain=[0, 1])), color=color,
        tooltip=["method", alt.Tooltip("tau:Q", format=".2f"), alt.Tooltip("rho:Q", format=".2f")]
    ).properties(height=360)


def claim_lines(mine: pd.DataFrame) -> str:
    """The suite's verdicts grouped per claim, one line per scale: the badge, then what was measured at each budget
    (as the engine words it)."""
    out = []
    for (method, _, _), part in mine.groupby(["method", "quote", "claimed"], sort=False):
        first = part.iloc[0]
        out.append(f"- **`{method}`**: {first['claimed_text']} vs `{first['baseline']}`")
        for _, r in part.iterrows():
            budgets, measured = r["budgets"].split(", "), r["measured"].split("; ")
            said = "; ".join(f"{b}: {m}" for b, m in zip(budgets, measured, strict=True)) \
                if len(budgets) == len(measured) > 1 else r["measured"]
            out.append(f"    - {verdicts.badge(r['verdict'], labels=r['labels'])} {r['workload']}/{r['scale']} · "
                       f"{r['hardware']}: {look.times(said)}")
    return "\n".join(out)


def suite_section(suite: str, found: dict, chosen: dict) -> None:
    st.header(f"Suite `{suite}`", anchor=f"suite-{suite}")
    table = data.apply_filters(found["studies"], chosen)
    table = table[table["suite"] == suite]
    for hardware, part in table.groupby("hardware", sort=False):
        st.markdown(f"**{hardware}** · baseline **`{part['baseline'].iloc[0]}`**")
        text, note = studies(part)
        st.html(text)
        if note:
            st.caption(note)
        scores = found["scores"]
        mine = scores[(scores["suite"] == suite) & (scores["hardware"] == hardware)]
        if mine["score"].notna().any():
            board = found["board"]
            flagged = board[(board["suite"] == suite) & (board["hardware"] == hardware)]["flags"].fillna("")
            st.markdown(score_line(mine, flagged.str.contains("contended machine").any()),
                        help="Area under the performance profile up to τ = 4, scaled to [0, 1], over the studies "
                             "every scored method ran: a method is never scored on a study it did not run.")
            with st.expander("Performance profile"):
                profile = found["profiles"]
                profile = profile[(profile["suite"] == suite) & (profile["hardware"] == hardware)]
                st.altair_chart(profile_chart(profile, look.method_color(data.colors(), profile)), width="stretch")
    judged = data.apply_filters(found["verdicts"], chosen) if len(found["verdicts"]) else found["verdicts"]
    mine = judged[judged["suite"] == suite] if len(judged) else judged
    if len(mine):
        counts = pd.Series([overview.scoped(v, x) for v, x in zip(mine["verdict"], mine["labels"], strict=True)
                            ]).value_counts()
        with st.expander(f"Claims: {len(mine)} verdicts (one per claim and scale) — "
                         + ", ".join(f"{n} {v}" for v, n in counts.items())):
            st.markdown(claim_lines(mine))


def main() -> None:
    st.title("Who wins")
    st.caption(CAPTION)
    found = data.current()
    data.listed(found["problems"])
    if found["board"].empty:
        if data.rows().empty:
            data.nothing_yet()
        else:
            st.info(data.NO_FINALS)
        return
    chosen = data.sidebar_filters(found["board"], ("suite", "hardware"))
    lines = data.apply_filters(found["lines"], chosen)
    several = set(lines.loc[lines.duplicated("suite", keep=False), "suite"])
    table, notes = answer(lines, several)
    st.html(table)
    st.caption(" ".join([notes, LEGEND]))
    for suite in data.apply_filters(found["lines"], chosen)["suite"].unique():
        suite_section(suite, found, chosen)


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
