"""How numbers are shown: one colour per method on every page, intervals and factors as text, open ends
explained, paper links, the budget's unit, chart heights that keep the plot readable above its legend, tables that
turn into cards on a phone. Formatting only; every number comes from ``harness.stats``."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import altair as alt

# 24 colours far enough apart to tell lines apart (Kelly's list without white/black, then Glasbey's).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#0b3d91", "#f2c12e", "#00a676", "#a50f15", "#6a3d9a", "#b15928", "#ff69b4", "#2f4f4f",
           "#8fbc3f", "#00ced1", "#ff4500", "#4169e1", "#daa520", "#800080")
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3])  # when two methods drawn together share a colour
ARXIV = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(v\d+)?", re.IGNORECASE)
TOKEN_METRICS = ("bits_per_token", "bits_per_byte", "perplexity")
OPEN = "open: that end of the interval lies beyond what {baseline}'s budgets can measure ({where}), so the data " \
       "cannot bound it"
PHONE = 640  # px: below this width a ``cards`` table shows one card per row
PAGE_CSS = f"""<style>
[data-testid="stMainBlockContainer"] {{padding-top: 2.5rem}}
@media (max-width: {PHONE}px) {{[data-testid="stMainBlockContainer"] {{padding-top: 3.5rem}}}}
</style>"""  # less empty space above every page's title: the answer starts higher


def colors(rows: pd.DataFrame) -> dict[str, str]:
    """method -> colour, the same on every page. Suites from the largest, their methods in sorted order: each
    method takes the least used palette colour that no method of a suite it ran in has taken, so the largest suite
    gets the palette's first (most distinct) colours and no suite's chart shows two methods in one colour while it
    has at most 24 methods; a colour is reused only across suites."""
    suites = rows.groupby("method")["suite"].agg(set).to_dict()
    sizes = rows.groupby("suite")["method"].nunique()
    fixed: dict[str, str] = {}
    for suite in sorted(sizes.index, key=lambda s: (-sizes[s], s)):
        for method in sorted(m for m in suites if suite in suites[m] and m not in fixed):
            taken = {fixed[m] for m in fixed if suites[m] & suites[method]}
            free = [c for c in PALETTE if c not in taken] or list(PALETTE)
            fixed[method] = min(free, key=lambda c: sum(v == c for v in fixed.values()))
    return fixed


def shared(fixed: dict[str, str], methods) -> bool:
    """Whether two of ``methods`` have one colour (a chart then tells them apart by dash)."""
    shown = [fixed[m] for m in dict.fromkeys(methods) if m in fixed]
    return len(set(shown)) < len(shown)


def method_color(fixed: dict[str, str], shown: pd.DataFrame, title: str = "method") -> alt.Color:
    """The method's fixed colour; the legend lists only the methods ``shown``, below the chart in as many columns
    as fit a phone, so it never squeezes the plot."""
    import altair as alt  # lazily: the first page draws no chart until asked (0.3 s of imports)

    domain = sorted(m for m in shown["method"].unique() if m in fixed)
    return alt.Color("method:N", title=title, scale=alt.Scale(domain=domain, range=[fixed[m] for m in domain]),
                     legend=alt.Legend(orient="bottom", direction="horizontal", columns=min(3, len(domain) or 1),
                                       labelLimit=120, symbolLimit=0))


def height(plot: int, shown: pd.DataFrame, legends: int = 0) -> int:
    """A chart's height for a plot area of about ``plot`` px: Streamlit fits the axes and the legends inside the
    height, so each row of the method legend (``method_color``: 3 a row) and each ``legends`` on top add to it."""
    return plot + 90 + 30 * -(-shown["method"].nunique() // 3) + 45 * legends


def method_dash(fixed: dict[str, str], shown: pd.DataFrame) -> alt.StrokeDash:
    """A dash per method among those sharing a colour in ``shown`` (solid for the rest)."""
    import altair as alt

    domain = sorted(m for m in shown["method"].unique() if m in fixed)
    seen: dict[str, int] = {}
    dashes = []
    for m in domain:
        dashes.append(DASHES[seen.get(fixed[m], 0) % len(DASHES)])
        seen[fixed[m]] = seen.get(fixed[m], 0) + 1
    return alt.StrokeDash("method:N", scale=alt.Scale(domain=domain, range=dashes), legend=None)


def interval(lo, hi, digits: int = 3) -> str:
    """``[lo, hi]``, an open end as "open", or an em dash when there is no interval (fewer than 2 seeds)."""
    if pd.isna(lo) and pd.isna(hi):
        return "—"
    return "[" + ", ".join("open" if pd.isna(v) else f"{v:.{digits}f}" for v in (lo, hi)) + "]"


def times(text: str | None) -> str:
    """A factor printed by ``harness.stats`` ("1.40x [1.38, 1.41]", "> 2.00x") with a proper ×."""
    return re.sub(r"(\d)x\b", "\\1×", text) if isinstance(text, str) and text else "—"


def measurable(lo: float, hi: float) -> str:
    """The speedups a baseline's budgets can measure: ``0.5×–4×``."""
    return f"{lo:.2g}×–{hi:.2g}×"


def open_note(baseline: str, where: str) -> str:
    """What an "open" interval end means for a speedup over ``baseline``; ``where``: what its budgets measure."""
    return OPEN.format(baseline=baseline, where=where)


def linked(text: str | None) -> str:
    """Markdown with every ``arXiv:NNNN.NNNNN`` turned into a link to its abstract page."""
    if not text:
        return ""
    return ARXIV.sub(lambda m: f"[arXiv:{m.group(1)}{m.group(2) or ''}](https://arxiv.org/abs/{m.group(1)})", text)


def unit(metric_names: pd.Series) -> str:
    """What a workload's budget counts: tokens for language models, examples otherwise."""
    names = set(metric_names.dropna().astype(str))
    return "tokens" if names & set(TOKEN_METRICS) else "examples"


def text(value) -> str:
    """A cell as a reader should see it: missing values as an em dash, never ``None`` or ``nan``."""
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def esc(value) -> str:
    """``text`` escaped for HTML."""
    return html.escape(text(value))


CARDS_CSS = f"""<style>
.sp-cards {{width: 100%; border-collapse: collapse; font-size: 0.9rem; margin-bottom: 0.4rem}}
.sp-cards th {{text-align: left; font-weight: 600; border-bottom: 2px solid #d0d7de; padding: 4px 8px}}
.sp-cards td {{vertical-align: top; border-bottom: 1px solid #eaeef2; padding: 5px 8px}}
.sp-cards small {{color: #57606a; display: block; line-height: 1.25}}
.sp-cards .sp-warn {{color: #9a6700}}
.sp-cards .sp-big {{font-weight: 600}}
.sp-cards .sp-good {{color: #1a7f37}} .sp-cards .sp-bad {{color: #cf222e}} .sp-cards .sp-none {{color: #57606a}}
@media (max-width: {PHONE}px) {{
  .sp-cards {{font-size: 0.85rem}} .sp-cards thead {{display: none}}
  .sp-cards, .sp-cards tbody, .sp-cards tr, .sp-cards td {{display: block; width: 100%}}
  .sp-cards tr {{border: 1px solid #d0d7de; border-radius: 8px; margin-bottom: 6px; padding: 3px 0}}
  .sp-cards td {{border: none; padding: 0 10px; line-height: 1.45}}
  .sp-cards td[data-label]:not([data-label=""])::before {{content: attr(data-label) ": "; color: #57606a}}
  .sp-cards small {{display: inline}} .sp-cards small::before {{content: " · "}} .sp-cards .sp-wide {{display: none}}
}}
</style>"""


def cards(rows: list[dict[str, str]], titles: dict[str, str], key: str = "") -> str:
    """An HTML table (cells are HTML already escaped with ``esc``) that a phone shows as one card per row, every
    cell on its own line with its title: no column is ever out of reach. ``titles``: column -> title (an empty
    title: the cell opens its card without a label)."""
    head = "".join(f"<th>{html.escape(t)}</th>" for t in titles.values())
    body = "".join("<tr>" + "".join(f'<td data-label="{html.escape(t)}">{row.get(c, "")}</td>'
                                     for c, t in titles.items()) + "</tr>" for row in rows)
    return f'{CARDS_CSS}<table class="sp-cards" id="{html.escape(key)}"><thead><tr>{head}</tr></thead>' \
           f"<tbody>{body}</tbody></table>"
