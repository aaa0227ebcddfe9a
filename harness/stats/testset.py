"""The test set's own sampling variance in an accuracy difference.

An accuracy measured on a small fixed test set (digits: 360 examples) estimates the accuracy on the population only
up to which examples happen to be in it; the seeds' scatter does not see that (deterministic training would give a
zero-width interval). With each final row's per-example correctness stored (``eval_correct``, bit-packed), the
paired variance of the difference is Var_i(p_m(i) − p_b(i)) / n, p(i) the share of a study's seeds that got
example i right (the same examples for both, so the shared difficulty cancels), less the part of it the seeds'
own scatter already holds (each p(i)'s sampling variance over seeds, averaged over the examples: counted once, in
the seed variance). It is added to the Welch variance of the seed means (``moments.welch``'s ``extra``): coverage
by simulation in docs/statistics.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _shares(rows: pd.DataFrame, code: str, size: int) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per code: the share of its rows that got each example right and that share's variance over seeds (0 with
    one seed), or None (no correctness stored, or test sets of different sizes)."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * size
    if "eval_correct" not in rows or "eval_examples" not in rows:
        return out
    have = rows[rows["eval_correct"].notna() & rows["eval_examples"].notna()]
    for key, g in have.groupby(code, sort=False):
        n = g["eval_examples"].astype(int)
        if n.nunique() != 1 or len(g) == 0:
            continue
        bits = np.stack([np.unpackbits(np.frombuffer(b, np.uint8))[: n.iloc[0]] for b in g["eval_correct"]])
        k = len(bits)
        out[int(key)] = bits.mean(0), (bits.var(0, ddof=1) / k if k > 1 else np.zeros(bits.shape[1]))
    return out


def paired_variance(ok: pd.DataFrame, base: pd.DataFrame, cells: np.ndarray, size: int) -> np.ndarray:
    """Per study (``ok`` coded ``_study``; the baseline's rows ``_cell``; ``cells`` the cell of each study): the
    test-set variance of its accuracy difference to the baseline; NaN where either side stored no correctness."""
    mine = _shares(ok, "_study", size)
    theirs = _shares(base, "_cell", int(cells.max()) + 1 if len(cells) else 0)
    out = np.full(size, np.nan)
    for i, (m, cell) in enumerate(zip(mine, cells, strict=True)):
        b = theirs[cell]
        if m is not None and b is not None and len(m[0]) == len(b[0]) and len(m[0]) > 1:
            within = np.mean(m[1] + b[1])  # the seeds' share of it
            out[i] = max(np.var(m[0] - b[0], ddof=1) - within, 0.0) / len(m[0])
    return out
