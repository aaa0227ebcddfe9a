"""The batch-size rule: how the largest stable learning rate grows with the batch size.

Granziol et al. predict lr_max ~ B^alpha with alpha ~ 1 for SGD (linear scaling) and alpha ~ 1/2 for
Adam (square-root scaling). From a grid of (batch, lr) trials with status ``ok``/``diverged``,
``largest_stable_lr`` finds the stability edge per batch size; ``fit_exponent`` fits
log lr_max = log c + alpha log B by least squares, with a Student-t confidence interval on alpha.

References:
    Granziol, Zohren, Roberts, "Learning Rates as a Function of Batch Size: A Random Matrix Theory
    Approach to Neural Network Training", JMLR 23 (2022), arXiv:2006.09092.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special


def fit_exponent(batch_sizes, lrs, level: float = 0.95) -> dict:
    """Least-squares fit of log lr = log c + alpha log B.

    Returns ``exponent``, ``ci_low``, ``ci_high`` (two-sided ``level`` t-interval on alpha; NaN with
    fewer than 3 points), ``prefactor`` (c), ``stderr`` and ``n``.
    """
    b = np.log(np.asarray(batch_sizes, dtype=np.float64))
    y = np.log(np.asarray(lrs, dtype=np.float64))
    if b.shape != y.shape or b.ndim != 1 or len(b) < 2 or np.ptp(b) == 0:
        raise ValueError("fit_exponent needs >= 2 pairs with at least two distinct batch sizes")
    n = len(b)
    sxx = np.sum((b - b.mean()) ** 2)
    alpha = float(np.sum((b - b.mean()) * (y - y.mean())) / sxx)
    intercept = float(y.mean() - alpha * b.mean())
    if n > 2:
        resid = y - (intercept + alpha * b)
        stderr = float(math.sqrt(np.sum(resid**2) / (n - 2) / sxx))
        half = float(special.stdtrit(n - 2, 0.5 + level / 2)) * stderr
    else:
        stderr = half = float("nan")
    return {
        "exponent": alpha,
        "ci_low": alpha - half,
        "ci_high": alpha + half,
        "prefactor": math.exp(intercept),
        "stderr": stderr,
        "n": n,
    }


def largest_stable_lr(
    trials: pd.DataFrame, by: tuple[str, ...] = (), batch_col: str = "batch_size", lr_col: str = "hp_lr"
) -> pd.DataFrame:
    """The stability edge per batch size (and per ``by`` group, e.g. ``("optimizer",)``).

    A learning rate is stable when every trial at it (all seeds) has status ``ok``. The edge is
    the largest stable lr below the smallest unstable one; ``lr_edge`` is the geometric mean of the
    two (the edge lies between them), or the largest stable lr with ``censored=True`` when nothing
    in the grid diverged. Rows with another status (error, oom, timeout) are ignored.
    """
    df = trials[trials["status"].isin(["ok", "diverged"])]
    keys = [*by, batch_col]
    rows = []
    for key, group in df.groupby(keys, sort=True):
        cells = group.groupby(lr_col)["status"].apply(lambda s: bool((s == "ok").all())).sort_index()
        lrs, stable = cells.index.to_numpy(dtype=np.float64), cells.to_numpy(dtype=bool)
        censored = bool(stable.all())
        first_bad = math.inf if censored else float(lrs[~stable].min())
        below = lrs[stable & (lrs < first_bad)]
        lr_ok = float(below.max()) if len(below) else math.nan
        edge = lr_ok if censored else math.sqrt(lr_ok * first_bad)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key, strict=True)), "lr_stable": lr_ok,
                     "lr_diverged": math.nan if censored else first_bad,
                     "lr_edge": edge, "censored": censored})
    return pd.DataFrame(rows, columns=[*keys, "lr_stable", "lr_diverged", "lr_edge", "censored"])


PREDICTED = {"sgd": 1.0, "adamw": 0.5, "nadamw": 0.5}  # Granziol et al.: linear for SGD, square root for Adam


def exponents(rows: pd.DataFrame, by: tuple[str, ...] = ("workload", "scale", "optimizer")) -> tuple:
    """``(edges, fits)`` of the grid rows: the stability edge per batch size, then the exponent per group.

    The fit uses the uncensored edges only (a censored edge is a lower bound); ``predicted`` is the
    exponent of ``PREDICTED`` for the group's optimizer (NaN for others), ``note`` says why no fit.
    """
    edges = largest_stable_lr(rows[rows["phase"] == "grid"], by=by)
    fits = []
    for key, group in edges.groupby(list(by), sort=True):
        usable = group[~group["censored"] & np.isfinite(group["lr_edge"])]
        fit, note = {}, ""
        try:
            fit = fit_exponent(usable["batch_size"], usable["lr_edge"])
        except ValueError:
            note = f"{len(usable)} uncensored edges: too few to fit"
        fits.append({**dict(zip(by, key, strict=True)), **fit, "edges_used": len(usable), "note": note,
                     "predicted": PREDICTED.get(dict(zip(by, key, strict=True)).get("optimizer"), math.nan)})
    return edges, pd.DataFrame(fits)
