"""To-target ratios (steps, time, energy) from crossings bracketed between evaluations.

A run is evaluated at a few points; the target is crossed somewhere between the last evaluation above it (``lo``;
0 when the first evaluation is already at or below it) and the first at or below it (``hi``); ``f`` is the fraction
of the way where the validation loss, linear between the two, reaches it. Reading the crossing off the evaluations
alone quantises the ratio (with 5 evaluations every ratio is a ratio of small integers, and a target crossed
before the first evaluation gave an exact "1 [1, 1]"). Here, per study (baseline / method: > 1 = the method
needs less):

* Point: the ratio of the geometric means of the interpolated crossings lo + f·(hi − lo); none when a seed
  crossed before its first evaluation (only a bound is known) or never reached the target.
* Interval, bracketed: its lower end is the lower Welch t bound of mean log(baseline lo) − mean log(method hi),
  its upper end the upper bound of mean log(baseline hi) − mean log(method lo): each crossing sits at the end of
  its bracket least favourable to the side being bounded, so the interval holds the seed noise and wherever inside
  the brackets the crossings are. A bracket from 0 (crossed before the first evaluation) or a target never reached
  makes the end it touches open (NaN): the result is a bound ("> 1.2x", "< 0.8x") or unknown, never a zero-width
  interval. Coverage and false support by simulation: docs/statistics.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.stats.moments import moments, welch

COLUMNS = {"steps": ("steps_to_target", "steps_to_target_lo"),  # name -> (first at/below, last above)
           "time": ("time_to_target_s", "time_to_target_lo_s"),
           "energy": ("energy_to_target_j", "energy_to_target_lo_j")}
KINDS = ("value", "lower_bound", "upper_bound", "unknown", "none")


def _float(rows: pd.DataFrame, column: str) -> np.ndarray:
    return rows[column].to_numpy(float, na_value=np.nan) if column in rows else np.full(len(rows), np.nan)


def brackets(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per row: lo, hi (the crossing's bracket; hi = inf when the target was not reached), point (the interpolated
    crossing; NaN when it cannot be placed) and measured (False for rows stored before brackets existed)."""
    high, low = COLUMNS[name]
    reached = rows["reached_target"].astype("boolean").fillna(False).to_numpy(bool) if "reached_target" in rows \
        else np.zeros(len(rows), bool)
    hi, lo, f = _float(rows, high), _float(rows, low), _float(rows, "target_crossing")
    point = np.where(reached & (lo > 0) & np.isfinite(f), lo + f * (hi - lo), np.nan)
    return pd.DataFrame({"lo": np.where(reached, lo, np.nan), "hi": np.where(reached, hi, np.inf), "point": point,
                         "measured": ~reached | np.isfinite(lo)}, index=rows.index)


def _side(codes: np.ndarray, b: pd.DataFrame, size: int) -> dict:
    """Moments of the log crossings per code, and per code whether an end of its brackets is open."""
    with np.errstate(divide="ignore"):
        logs = {k: np.log(np.where(b[k] > 0, b[k], np.nan)) for k in ("lo", "hi", "point")}
    frame = pd.DataFrame({"_g": codes, **{k: np.where(np.isfinite(v), v, np.nan) for k, v in logs.items()}})
    count = lambda mask: np.bincount(codes, mask.astype(float), size) > 0  # noqa: E731
    return {**{k: moments(frame, "_g", k, size) for k in logs},
            "early": count(b["lo"].to_numpy() == 0), "never": count(np.isinf(b["hi"].to_numpy())),
            "unmeasured": count(~b["measured"].to_numpy(bool)),
            "placed": count(np.isfinite(logs["point"])) & ~count(~np.isfinite(logs["point"]))}


def ratios(base: pd.DataFrame, method: pd.DataFrame, cells: np.ndarray, size: int, name: str, confidence: float,
           tuning=0.0) -> dict[str, np.ndarray]:
    """Per study (``method`` rows coded ``_study`` 0..size-1, ``base`` rows coded ``_cell``; ``cells``: each
    study's cell): point, lo, hi (NaN = open) and kind (``KINDS``); ``tuning``: the between-study variance term
    of ``moments.welch``."""
    m = _side(method["_study"].to_numpy(), brackets(method, name), size)
    n_cells = int(cells.max()) + 1 if len(cells) else 0
    b = _side(base["_cell"].to_numpy(), brackets(base, name), n_cells)
    b = {k: (v.iloc[cells].reset_index(drop=True) if isinstance(v, pd.DataFrame) else v[cells]) for k, v in b.items()}
    low = welch(m["hi"], b["lo"], confidence, tuning)[1]  # mean log b.lo - mean log m.hi: the lower end
    high = welch(m["lo"], b["hi"], confidence, tuning)[2]  # mean log b.hi - mean log m.lo: the upper end
    point = welch(m["point"], b["point"], confidence, tuning)[0]
    open_low, open_high = b["early"] | m["never"], m["early"] | b["never"]
    none = m["unmeasured"] | b["unmeasured"] | (m["hi"]["n"].to_numpy() == 0) & ~m["never"] \
        | (b["hi"]["n"].to_numpy() == 0) & ~b["never"]
    with np.errstate(over="ignore"):
        lo = np.where(open_low | none, np.nan, np.exp(low))
        hi = np.where(open_high | none, np.nan, np.exp(high))
        point = np.where(m["placed"] & b["placed"] & ~none, np.exp(point), np.nan)
    kind = np.select([none, np.isfinite(point) & (np.isfinite(lo) | np.isfinite(hi)),
                      np.isfinite(lo) & np.isnan(hi), np.isnan(lo) & np.isfinite(hi)],
                     ["none", "value", "lower_bound", "upper_bound"], "unknown")
    return {"point": point, "lo": lo, "hi": hi, "kind": kind}
