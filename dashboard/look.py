"""How numbers are shown: one colour per method on every page, intervals and factors as text,
paper links, the budget's unit. Formatting only; every number comes from ``harness.stats``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import altair as alt

# 24 colours far enough apart to tell lines apart (Kelly's list without white/black, then Glasbey's);
# beyond 24 methods the colours repeat and the shape of the point tells the methods apart.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#0b3d91", "#f2c12e", "#00a676", "#a50f15", "#6a3d9a", "#b15928", "#ff69b4", "#2f4f4f",
           "#8fbc3f", "#00ced1", "#ff4500", "#4169e1", "#daa520", "#800080")
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")
ARXIV = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(v\d+)?", re.IGNORECASE)
TOKEN_METRICS = ("bits_per_token", "bits_per_byte", "perplexity")


def colors(everything: pd.DataFrame) -> dict[str, str]:
    """method -> colour, fixed by the sorted list of every method in the results (not the view)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(everything["method"].unique()))}


def method_color(everything: pd.DataFrame, shown: pd.DataFrame, title: str = "method") -> alt.Color:
    """The method's fixed colour; the legend lists only the methods ``shown`` and sits below the chart."""
    import altair as alt  # lazily: the first page draws no chart until asked (0.3 s of imports)

    fixed = colors(everything)
    domain = sorted(m for m in shown["method"].unique() if m in fixed)
    return alt.Color("method:N", title=title, scale=alt.Scale(domain=domain, range=[fixed[m] for m in domain]),
                     legend=alt.Legend(orient="bottom", columns=3, labelLimit=110))


def interval(lo, hi, digits: int = 3) -> str:
    """``[lo, hi]``, or an em dash when there is no interval (fewer than 2 seeds)."""
    if pd.isna(lo) or pd.isna(hi):
        return "—"
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def times(text: str | None) -> str:
    """A factor printed by ``harness.stats`` ("1.40x [1.38, 1.41]", "> 2.00x") with a proper ×."""
    return re.sub(r"(\d)x\b", "\\1×", text) if isinstance(text, str) and text else "—"


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
