"""Statistics of a results table: the leaderboard (data speedups from ``harness.stats.speedup``, t intervals,
ratios against the baseline, flags), performance profiles, rankings with ties and learning-rate sensitivity.

Every interval is a t interval at ``CONFIDENCE`` (deterministic: the report, verify and the dashboard print
the same numbers for the same rows); their calibration at 3-5 seeds is measured in docs/statistics.md.

Pure pandas/numpy/scipy: no torch, no I/O. Every function takes plain numbers or the results
DataFrame of ``harness.store.SCHEMA``; claim verdicts live in ``harness.stats.claims``.

References:
    Wen, Hall, Ma, Liang. Fantastic Pretraining Optimizers and Where to Find Them. arXiv:2509.02046
    (data speedup). Dolan, Moré. Benchmarking optimization software with performance profiles.
    Math. Program. 91 (2002). Dahl et al. Benchmarking Neural Network Training Algorithms
    (AlgoPerf), arXiv:2306.07179 (score = normalised area under the performance profile).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd

from harness.contracts.interface import space_from_json
from harness.stats import moments as mom
from harness.stats import testset, to_target
from harness.stats.moments import KAPPA, one, ratio, welch
from harness.stats.speedup import SpeedupEstimate, estimate_many, estimate_text

STUDY_KEYS = ("suite", "workload", "scale", "budget_multiple", "method")
MEASURED_ENERGY_METHODS = ("nvml",)  # energy_method values that are measurements, not estimates
CONFIDENCE = 0.95  # every interval of the project (report, verify, dashboard): one numbers engine


class Estimate(NamedTuple):
    """A point estimate and its confidence interval; ``lo``/``hi`` are NaN when there is none."""

    point: float
    lo: float
    hi: float

    @property
    def has_interval(self) -> bool:
        return bool(np.isfinite(self.lo) and np.isfinite(self.hi))


# --------------------------------------------------------------------------- confidence intervals


def mean_ci(values, confidence: float = CONFIDENCE) -> Estimate:
    """mean ± t_{n-1} s/sqrt(n) (NaNs dropped); no interval below 2 values, the point itself when they are equal."""
    return Estimate(*(float(v[0]) for v in mom.mean_ci(one(values), confidence)))


def difference_ci(baseline_values, method_values, confidence: float = CONFIDENCE) -> Estimate:
    """mean(method) - mean(baseline) with a Welch t interval (Welch–Satterthwaite df; quality and forgetting
    deltas). Calibrated at 3-5 seeds where the bootstrap is not (docs/statistics.md)."""
    return Estimate(*(float(v[0]) for v in welch(one(baseline_values), one(method_values), confidence)))


def ratio_ci(baseline_values, method_values, confidence: float = CONFIDENCE) -> Estimate:
    """baseline / method as the ratio of geometric means, with the Welch t interval of the log values
    exponentiated (> 1 = the method needs less: steps-, time-, energy-to-target). NaNs (target not reached)
    are dropped; a method at 0 (sends nothing) against a positive baseline is an infinite ratio."""
    got = ratio(one(baseline_values, log=True), one(method_values, log=True), confidence)
    return Estimate(*(float(v[0]) for v in got))


# --------------------------------------------------------------------------- aggregates


def performance_ratios(times: pd.DataFrame) -> pd.DataFrame:
    """r[w, m] = t[w, m] / min_m t[w, m] for a (workload x method) table of time-to-target; a NaN
    or infinite time (target not reached) gives r = inf."""
    t = times.astype(float).where(np.isfinite(times.astype(float)), np.inf)
    best = t.min(axis=1)
    return t.div(best.where(np.isfinite(best) & (best > 0)), axis=0).fillna(np.inf)


def target_times(df: pd.DataFrame, column: str = "time_to_target_s") -> pd.DataFrame:
    """The input of the profile: final-phase mean ``column`` over the seeds that reached the
    target, rows (suite, workload, scale, budget_multiple), columns method; inf when none did."""
    fin = df[(df["phase"] == "final") & (df["status"] == "ok")].copy()
    fin["value"] = fin[column].astype(float).where(fin["reached_target"].fillna(False).astype(bool))
    table = fin.pivot_table(index=list(STUDY_KEYS[:4]), columns="method", values="value", aggfunc="mean",
                            dropna=False)
    return table.fillna(np.inf)


def performance_profile(times: pd.DataFrame, taus) -> pd.DataFrame:
    """Dolan-Moré profile rho_m(tau) = |{w : r[w, m] <= tau}| / |W| (rows: tau, columns: method)."""
    r = performance_ratios(times)
    taus = np.asarray(taus, float)
    rho = (r.to_numpy()[None, :, :] <= taus[:, None, None]).mean(axis=1)
    return pd.DataFrame(rho, index=pd.Index(taus, name="tau"), columns=r.columns)


def algoperf_score(times: pd.DataFrame, tau_max: float = 4.0) -> pd.Series:
    """AlgoPerf score: B_m = 1/(tau_max - 1) ∫_1^tau_max rho_m(tau) dtau, computed exactly as
    mean_w max(0, tau_max - r[w, m]) / (tau_max - 1); in [0, 1], 1 = fastest on every workload."""
    r = performance_ratios(times)
    return ((tau_max - r).clip(lower=0).mean(axis=0) / (tau_max - 1)).rename("score")


def rank_with_ties(df: pd.DataFrame, value: str = "point", lo: str = "lo", hi: str = "hi",
                   lower_is_better: bool = True, by: list[str] | None = None) -> pd.Series:
    """Competition ranks (1, 1, 3, ...) where methods whose intervals overlap share a rank, within each group
    of ``by`` (the whole frame when None).

    Sort by ``value``; a method joins the rank of the current group when its interval overlaps
    the interval of that group's first (best) member, else it starts a new group whose rank is
    its position. A row without an interval is a point interval [value, value].
    """
    v = df[value].astype(float).to_numpy()
    low = (df[lo].astype(float).fillna(df[value].astype(float)) if lo in df else df[value].astype(float)).to_numpy()
    high = (df[hi].astype(float).fillna(df[value].astype(float)) if hi in df else df[value].astype(float)).to_numpy()
    group = df.groupby(by, sort=False, dropna=False).ngroup().to_numpy() if by else np.zeros(len(df), int)
    ranks, leader, position, current = np.zeros(len(df), int), -1, 0, None
    for i in np.lexsort((v if lower_is_better else -v, group)):  # stable: ties keep their order
        if group[i] != current:
            leader, position, current = -1, 0, group[i]
        position += 1
        if leader >= 0 and low[i] <= high[leader] and low[leader] <= high[i]:
            ranks[i] = ranks[leader]
        else:
            ranks[i], leader = position, i
    return pd.Series(ranks, index=df.index, name="rank")


def lr_sensitivity(df: pd.DataFrame, tolerance: float = 0.01) -> pd.DataFrame:
    """Per study, the final loss of the tuning trials against x = log10(learning rate).

    Columns: best_lr, best_loss, n_trials, n_failed, lr_window_decades = log10(max lr / min lr)
    over the ok trials with loss <= best_loss·(1 + tolerance), slope = b1 of L = b0 + b1·x (loss per
    decade), curvature = 2·c2 of L = c0 + c1·x + c2·x² (NaN with fewer than 3 distinct lrs).
    """
    tune = df[df["phase"] == "tune"]
    rows = []
    keys = [k for k in STUDY_KEYS if k in tune]
    for key, g in tune.groupby(keys, dropna=False):
        ok = g[(g["status"] == "ok") & np.isfinite(g["final_val_loss"]) & (g["hp_lr"] > 0)]
        row = dict(zip(keys, key, strict=True), n_trials=len(g), n_failed=len(g) - len(ok))
        if len(ok):
            x, y = np.log10(ok["hp_lr"].to_numpy(float)), ok["final_val_loss"].to_numpy(float)
            near = x[y <= y.min() * (1 + tolerance)]
            row.update(best_lr=10 ** x[y.argmin()], best_loss=y.min(),
                       lr_window_decades=near.max() - near.min(),
                       slope=np.polyfit(x, y, 1)[0] if len(set(x)) >= 2 else np.nan,
                       curvature=2 * np.polyfit(x, y, 2)[0] if len(set(x)) >= 3 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- results tables


def best_configs(df: pd.DataFrame) -> pd.DataFrame:
    """Per study (suite, workload, scale, budget_multiple, method): the tuning trial with the
    lowest final_val_loss among status == "ok" (ties: the smallest trial_id)."""
    tune = df[(df["phase"] == "tune") & (df["status"] == "ok") & df["final_val_loss"].notna()]
    tune = tune.sort_values(["final_val_loss", "trial_id"], kind="stable")
    return tune.drop_duplicates(list(STUDY_KEYS)).sort_values(list(STUDY_KEYS)).reset_index(drop=True)


def recorded_baseline(rows: pd.DataFrame) -> str | None:
    """The baseline the rows were compared against: the ``baseline`` they recorded (the most common), else, for
    rows written before that column, the method they hold most often (``harness leaderboard``'s last resort);
    None without rows."""
    recorded = rows["baseline"].dropna() if "baseline" in rows else ()
    if len(recorded):
        return str(recorded.mode().iloc[0])
    return str(rows["method"].mode().iloc[0]) if len(rows) else None


LOWER_IS_BETTER = ("bits_per_token", "bits_per_byte", "mse", "loss", "perplexity")


def leaderboard(df: pd.DataFrame, baseline: str, confidence: float = CONFIDENCE, spaces: dict | None = None
                ) -> pd.DataFrame:
    """One row per (suite, workload, scale, budget_multiple, method) of the final phase.

    Columns: n_seeds, n_failed, loss (mean final_val_loss over ok seeds) with loss_lo/loss_hi; metric (mean
    final_val_metric, e.g. accuracy) with metric_lo/metric_hi; speedup_range_lo/hi (D_1/D, D_k/D: the speedups
    the baseline's budgets at this scale can measure; beyond them only a bound);
    data_speedup (+ _lo, _hi, _kind, _text) against ``baseline`` across that scale's budgets
    (``speedup.speedup_table``: the baseline is 1.0 by definition, kind "baseline"; beyond the baseline's
    budgets only a bound, kind "lower_bound" / "upper_bound", printed "> 2.00x"); flags (``flags``, with
    ``spaces`` = {method: search space} for "possibly undertuned"); loss_delta = baseline - method loss and
    metric_delta = the final_val_metric difference oriented so that positive = better (method - baseline
    for accuracy, baseline - method for ``LOWER_IS_BETTER`` metrics such as bits per token) and
    forgetting_delta = baseline - method forgetting (continual workloads; positive = forgets less) with CIs;
    steps_ratio,
    time_ratio, energy_ratio = baseline / method to target (> 1 = faster; geometric means) with CIs, the
    fraction of seeds that reached the target, and energy_quality ("measured" | "estimated" | "none");
    overhead_ratio (step_time_ms_p50) and memory_ratio (peak_mem_bytes) = method / baseline; simulated
    (what the rows only simulated: number formats, communication); metric_name (what metric_delta measures).

    When the rows carry ``bytes_communicated`` (multi-worker methods), also: bytes_communicated
    (mean over seeds), communication_simulated (a row's ``simulated`` names "communication": bytes
    counted from simulated workers, nothing sent), comm_ratio = baseline bytes / method bytes at the
    end of the same schedule (> 1 = the method sends less; CI as ``ratio_ci``) and
    comm_ratio_at_loss = the bytes the baseline needs to reach the method's final loss over the
    bytes the method sent = comm_ratio x data_speedup, since the baseline's bytes grow in proportion
    to its budget (one all-reduce every step or every H steps); its interval multiplies the two
    intervals' bounds (exact when the bytes do not vary across seeds, as with fixed hyperparameters).
    """
    fin = df[df["phase"] == "final"]
    if fin.empty:
        return pd.DataFrame()
    keys = list(STUDY_KEYS)
    order, (_, _, scale, cell, study) = mom.group_codes(fin, keys)  # the rows in key order, each level's codes
    fin = fin if np.array_equal(order, np.arange(len(order))) else fin.iloc[order]
    num = lambda name: _num(fin, name)  # noqa: E731
    budget = num("budget_tokens")
    budget = np.where(np.isnan(budget), num("budget_multiple"), budget)
    first = np.flatnonzero(np.r_[True, study[1:] != study[:-1]])  # each study's first row (budget, params, metric)
    head, size = fin.iloc[first], len(first)
    out = head[[*keys, "params"]].reset_index(drop=True)
    out.insert(len(keys), "budget", budget[first])
    ok = _mask(fin["status"] == "ok") & fin["final_val_loss"].notna().to_numpy()
    mine = _mask(fin["method"] == baseline)
    base = ok & mine
    cells, s_ok = cell[first], study[ok]
    n = np.bincount(s_ok, minlength=size)
    out["device"] = _joined(fin, "device", study, size)
    out["n_seeds"], out["n_failed"] = n, np.bincount(study, minlength=size) - n
    out["repeats"] = _repeats(fin, ok, s_ok, size)
    kappa = np.where(out["repeats"].to_numpy() >= 2, 0.0, KAPPA)  # the between-study variance term per study
    ours = lambda name, log=False: mom.moments_of(s_ok, num(name)[ok], size, log)  # noqa: E731
    theirs = lambda name, log=False: mom.moments_of(  # noqa: E731
        cell[base], num(name)[base], int(cells.max()) + 1, log).iloc[cells]  # the baseline's, beside each study
    loss = ours("final_val_loss")
    out["loss"], out["loss_lo"], out["loss_hi"] = mom.mean_ci(loss, confidence, kappa)
    out["loss_var"] = loss["var"].to_numpy()  # the seeds' variance: direct comparisons between budgets
    out["loss_lo"] = np.maximum(out["loss_lo"], 0.0)  # a loss is never negative
    out["metric"], out["metric_lo"], out["metric_hi"] = mom.mean_ci(ours("final_val_metric"), confidence, kappa)
    out["simulated"] = [v or None for v in _parts_joined(fin, study, size)]
    out["metric_name"] = head["val_metric_name"].to_numpy() if "val_metric_name" in head else None
    is_base = (out["method"] == baseline).to_numpy()
    single = np.bincount(scale[first], kappa > 0, scale[-1] + 1) > 0  # per scale: a study with one tuning study
    su = _speedups(fin, ok, mine, scale, budget, first, out, is_base, confidence, KAPPA * single)
    for col, values in su.items():
        out[f"data_speedup{col}"] = values
    span_lo, span_hi = (np.full(scale[-1] + 1, np.nan) for _ in range(2))
    np.fmin.at(span_lo, scale[base], budget[base])
    np.fmax.at(span_hi, scale[base], budget[base])
    out["speedup_range_lo"] = span_lo[scale[first]] / out["budget"].to_numpy(float)  # what the baseline's budgets
    out["speedup_range_hi"] = span_hi[scale[first]] / out["budget"].to_numpy(float)  # can measure: D_1/D .. D_k/D
    mark = is_base & (n > 0)
    out.loc[mark, ["data_speedup", "data_speedup_kind", "data_speedup_text"]] = [1.0, "baseline", "1.00x (baseline)"]
    lower = (np.bincount(study, _mask(fin["val_metric_name"].isin(LOWER_IS_BETTER)), size) > 0
             if "val_metric_name" in fin else np.zeros(size, bool))
    accuracy = (out["metric_name"] == "accuracy").to_numpy()
    rows = _coded(fin, ok, study, cell)  # the ok rows' columns that to_target and testset read, coded
    rows_base = rows[mine[ok]]
    out["test_var"] = np.where(accuracy, testset.paired_variance(rows, rows_base, cells, size), np.nan)
    ones = np.ones(size)  # +1: baseline - method (less loss, less forgetting); -1: method - baseline
    for name, column, sign, extra in (
            ("loss_delta", "final_val_loss", ones, 0.0),
            ("metric_delta", "final_val_metric", np.where(lower, 1.0, -1.0), np.nan_to_num(out["test_var"])),
            ("forgetting_delta", "forgetting", ones, 0.0)):
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = _welch_diff(ours(column), theirs(column), confidence,
                                                                      sign, kappa, extra)
    for end in ("metric", "metric_lo", "metric_hi"):  # an accuracy lies in [0, 1], a difference of two in [-1, 1]
        out[end] = np.where(accuracy, np.clip(out[end], 0.0, 1.0), out[end])
        delta = end.replace("metric", "metric_delta")
        out[delta] = np.where(accuracy, np.clip(out[delta], -1.0, 1.0), out[delta])
    reached = _mask(fin["reached_target"].astype("boolean"))[ok] if "reached_target" in fin else np.zeros(len(s_ok))
    with np.errstate(invalid="ignore", divide="ignore"):
        reached = np.bincount(s_ok, reached, size) / n
    for name in to_target.COLUMNS:
        got = to_target.ratios(rows_base, rows, cells, size, name, confidence, kappa)
        out[f"{name}_ratio"], out[f"{name}_ratio_lo"], out[f"{name}_ratio_hi"] = got["point"], got["lo"], got["hi"]
        out[f"{name}_ratio_kind"] = got["kind"]
        out[f"{name}_reached"] = reached
    for name, column in (("overhead", "step_time_ms_p50"), ("memory", "peak_mem_bytes")):
        out[f"{name}_ratio"], out[f"{name}_ratio_lo"], out[f"{name}_ratio_hi"] = ratio(
            ours(column, True), theirs(column, True), confidence)
    out["energy_quality"] = _energy_quality(fin, ok, s_ok, size)
    out["flags"] = _flags(fin, ok, s_ok, out, spaces)
    if "bytes_communicated" in fin and fin["bytes_communicated"].notna().any():
        out = _communication(out, fin, ok, s_ok, ours("bytes_communicated", True),
                             theirs("bytes_communicated", True), confidence)
    return out


# --------------------------------------------------------------------------- per-study columns, vectorised


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats (missing: NaN; an absent column: all NaN)."""
    return frame[column].to_numpy(float, na_value=np.nan) if column in frame else np.full(len(frame), np.nan)


def _mask(values: pd.Series) -> np.ndarray:
    """A boolean column as numpy (missing: False)."""
    return values.fillna(False).to_numpy(bool)


def _coded(fin: pd.DataFrame, ok: np.ndarray, study: np.ndarray, cell: np.ndarray) -> pd.DataFrame:
    """The ok rows' columns ``to_target`` and ``testset`` read, with their study (``_study``) and cell (``_cell``)."""
    names = [c for c in ("reached_target", "target_crossing", "eval_correct", "eval_examples",
                         *(c for pair in to_target.COLUMNS.values() for c in pair)) if c in fin]
    return fin.loc[ok, names].reset_index(drop=True).assign(_study=study[ok], _cell=cell[ok])


def _welch_diff(m, b, confidence, sign, kappa=0.0, extra=0.0):
    """``difference_ci`` per row, times ``sign`` (+1: baseline - method, -1: method - baseline)."""
    point, lo, hi = welch(m, b, confidence, kappa, extra)  # mean(b) - mean(m)
    return (point * sign, np.where(sign > 0, lo, -hi), np.where(sign > 0, hi, -lo))


def _repeats(fin: pd.DataFrame, ok: np.ndarray, s_ok: np.ndarray, size: int) -> np.ndarray:
    """Per study: how many repeated tuning studies its final rows come from (rows without ``repeat``: one)."""
    if "repeat" not in fin:
        return np.ones(size, int)
    which, names = pd.factorize(fin["repeat"][ok].fillna(0))
    pairs = np.unique(s_ok.astype(np.int64) * max(len(names), 1) + which)
    return np.maximum(np.bincount(pairs // max(len(names), 1), minlength=size), 1)


def _joined(fin: pd.DataFrame, column: str, study: np.ndarray, size: int) -> list[str]:
    """Per study: the distinct non-null values of ``column``, sorted and comma-joined ("" when none)."""
    if column not in fin:
        return [""] * size
    have = fin[column].notna().to_numpy()
    return mom.joined(study[have], fin[column].to_numpy(object)[have], size)


def _parts_joined(fin: pd.DataFrame, study: np.ndarray, size: int) -> list[str]:
    """Per study: what its rows' ``simulated`` name (comma-separated parts), distinct, sorted and joined."""
    if "simulated" not in fin:
        return [""] * size
    have = fin["simulated"].notna().to_numpy()
    pairs = [(s, part) for s, v in zip(study[have], fin["simulated"][have].astype(str), strict=True)
             for part in v.split(",") if part != ""]
    return mom.joined(np.array([s for s, _ in pairs], np.int64), [p for _, p in pairs], size)


def _speedups(fin, ok, mine, scale, budget, first, out, is_base, confidence, kappa) -> dict[str, np.ndarray]:
    """The data-speedup columns (suffix -> values per study; ``first``: each study's first row; ``kappa`` per scale
    code): what
    ``speedup.speedup_tables`` gives the leaderboard, without a pandas call per row: one ``speedup.estimate_many``
    per (scale, method, budget) of the methods' ok rows against the baseline's seeds at each budget of its scale,
    batched by the baseline's budgets in the same order (so the same numbers, bit for bit)."""
    size = len(out)
    got = {"": np.full(size, np.nan), "_lo": np.full(size, np.nan), "_hi": np.full(size, np.nan),
           "_kind": np.full(size, None, dtype=object), "_text": np.full(size, "—", dtype=object)}
    base, rest = ok & mine, ok & ~mine
    if not base.any() or not rest.any():
        return got
    loss = _num(fin, "final_val_loss")
    base &= np.isfinite(budget) & (budget > 0)
    at, b_losses = _matrix([scale[base], mom.sorted_codes(budget[base])], loss[base])
    keep = np.isfinite(b_losses).any(1)  # a budget with no finite seed is dropped
    b_scale, b_budget, b_losses = scale[base][at][keep], budget[base][at][keep], b_losses[keep]
    method = fin["method"].to_numpy(object)[rest]
    at, m_losses = _matrix([scale[rest], mom.sorted_codes(method), mom.sorted_codes(budget[rest])], loss[rest])
    m_scale, m_method, m_budget = scale[rest][at], method[at], budget[rest][at]
    starts = np.flatnonzero(np.r_[True, b_scale[1:] != b_scale[:-1]])
    spans = {int(b_scale[s]): slice(s, e) for s, e in zip(starts, np.r_[starts[1:], len(b_scale)], strict=True)}
    signature = [(spans[k].stop - spans[k].start, tuple(b_budget[spans[k]])) if k in spans else None
                 for k in m_scale.tolist()]
    table = {"point": np.full(len(at), np.nan), "lo": np.full(len(at), np.nan), "hi": np.full(len(at), np.nan),
             "kind": np.full(len(at), "none", dtype=object), "open_lo": np.zeros(len(at), bool),
             "open_hi": np.zeros(len(at), bool), "b": np.zeros(len(at))}
    for sig in dict.fromkeys(s for s in signature if s is not None):
        rows = np.flatnonzero([s == sig for s in signature])
        Y = np.stack([b_losses[spans[k]].T for k in m_scale[rows].tolist()])
        est = estimate_many(np.array(sig[1]), Y, m_budget[rows], m_losses[rows], confidence, kappa=kappa[m_scale[rows]])
        for key, values in est.items():
            table[key][rows] = values
    text = ["n/a (the baseline ran at one budget)" if sig is not None and sig[0] < 2 else estimate_text(
        SpeedupEstimate(*r)) for sig, *r in zip(signature, *table.values(), strict=True)]
    groups = pd.DataFrame({"s": m_scale, "m": m_method, "d": m_budget, "i": np.arange(len(at))})
    i = pd.DataFrame({"s": scale[first], "m": out["method"].to_numpy(object), "d": out["budget"].to_numpy(float)}
                     ).merge(groups, on=["s", "m", "d"], how="left")["i"].to_numpy(float)
    has = ~np.isnan(i) & ~is_base
    i = np.where(has, i, 0).astype(int)
    for col, key in (("", "point"), ("_lo", "lo"), ("_hi", "hi")):
        got[col] = np.where(has, table[key][i], np.nan)
    got["_kind"] = np.where(has, table["kind"][i], None)
    got["_text"] = np.where(has, np.array(text, dtype=object)[i], "—")
    return got


def _matrix(keys: list[np.ndarray], values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by ``keys`` (integer codes, in key order; rows of a group in their order): each group's first
    row, and its values padded with NaN into a (groups x most rows) matrix (``speedup._matrix``)."""
    order = np.lexsort(keys[::-1])
    change = np.zeros(len(order), bool)
    for k in keys:
        k = k[order]
        change |= np.r_[True, k[1:] != k[:-1]]
    group = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    seat = np.arange(len(order)) - starts[group]
    matrix = np.full((len(starts), int(seat.max()) + 1 if len(seat) else 0), np.nan)
    matrix[group, seat] = values[order]
    return order[starts], matrix


EDGE_SHARE = 0.05  # a tuned value within 5% of its range's end (log scale for LogUniform) sits on the edge
CHANCE_SHARE = 0.99  # a final loss at >= 99% of a uniform guess's loss: the method did not learn


def _on_edge(value, space) -> bool:
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None or not isinstance(value, int | float) or not high > low:
        return False
    log = type(space).__name__ == "LogUniform" and low > 0 and value > 0
    u = (np.log(value / low) / np.log(high / low)) if log else (value - low) / (high - low)
    return bool(u <= EDGE_SHARE or u >= 1 - EDGE_SHARE)


def _flags(fin: pd.DataFrame, ok: np.ndarray, s_ok: np.ndarray, out: pd.DataFrame, spaces: dict | None
           ) -> list[str]:
    """Warnings that travel with each study's numbers (comma-separated, empty when none), per row of ``out``
    (``fin``: the studies' final rows in key order, ``ok`` the successful ones, ``s_ok`` their study codes):
    did not learn (mean final loss >= CHANCE_SHARE x ``chance_loss``, the loss of a uniform guess);
    single seed; under-trained regime (budget < 1x Chinchilla); possibly undertuned (the tuned value of a
    hyperparameter within EDGE_SHARE of its search range's end: the optimum may lie outside it; the space
    recorded with the trial, else ``spaces`` = {method: search space}); contended machine (load above the
    cores during a trial: its time and energy are unreliable); tuning noise assumed (one tuning study: its intervals
    carry the between-study term ``KAPPA``, an assumption, not a measurement: ``tuning.repeats`` measures it);
    test-set variance not measured (an accuracy without per-example results: its difference's interval is the
    seeds' alone)."""
    size = len(out)
    loss = fin["final_val_loss"][ok].to_numpy(float, na_value=np.nan)
    chance = mom.first_valid(s_ok, _num(fin, "chance_loss")[ok], size)
    mean = pd.Series(loss).groupby(s_ok).mean().reindex(range(size)).to_numpy()
    dead = np.nan_to_num(mean) >= CHANCE_SHARE * np.where(np.isfinite(chance), chance, np.inf)
    busy = np.zeros(size, bool)
    if "contended" in fin:
        busy = np.bincount(s_ok, fin["contended"][ok].astype(float).fillna(0).astype(bool).to_numpy(), size) > 0
    texts = {c: mom.first_valid(s_ok, fin[c].to_numpy(object)[ok], size) if c in fin else np.full(size, np.nan)
             for c in ("hparams_json", "search_space_json")}
    n, method = out["n_seeds"].to_numpy(), out["method"].to_numpy(object)
    spaces_of, tuned_of, edge = {}, {}, np.zeros(size, bool)
    for i, (hp, own) in enumerate(zip(texts["hparams_json"], texts["search_space_json"], strict=True)):
        key = own if isinstance(own, str) else ("method", method[i])
        if key not in spaces_of:
            spaces_of[key] = space_from_json(own) if isinstance(own, str) else (spaces or {}).get(method[i])
        space = spaces_of[key]
        if space and isinstance(hp, str):
            if hp not in tuned_of:
                tuned_of[hp] = json.loads(hp)
            edge[i] = any(_on_edge(tuned_of[hp].get(k), s) for k, s in space.items())
    single = (out["repeats"] < 2).to_numpy() & (n > 0)
    no_test = ((out["metric_name"] == "accuracy") & out["test_var"].isna()).to_numpy()
    under = np.array([float(m) < 1 for m in out["budget_multiple"]], bool)
    names = ("did not learn", "single seed", "under-trained regime", "possibly undertuned", "contended machine",
             "tuning noise assumed", "test-set variance not measured")
    on = ((n > 0) & dead, n < 2, under, (n > 0) & edge, busy, single, no_test)
    bits = sum(flag.astype(np.int64) << k for k, flag in enumerate(on))
    words = {b: ", ".join(name for k, name in enumerate(names) if b >> k & 1) for b in np.unique(bits).tolist()}
    return [words[b] for b in bits.tolist()]


def _energy_quality(fin: pd.DataFrame, ok: np.ndarray, s_ok: np.ndarray, size: int) -> np.ndarray:
    """Per study: "measured" (every energy figure from ``MEASURED_ENERGY_METHODS``), "estimated" or "none"."""
    method = fin["energy_method"][ok]
    have = method.notna().to_numpy()
    count = np.bincount(s_ok[have], minlength=size)
    measured = np.bincount(s_ok[have], _mask(method[have].isin(MEASURED_ENERGY_METHODS)), size)
    none = np.bincount(s_ok[have], _mask(method[have] == "none"), size)
    quality = np.where(measured == count, "measured", "estimated").astype(object)
    return np.where((count == 0) | (none == count), "none", quality)


def _communication(out: pd.DataFrame, fin: pd.DataFrame, ok: np.ndarray, s_ok: np.ndarray, m: pd.DataFrame,
                   b: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """The communication columns (see ``leaderboard``; ``m``, ``b``: the log moments of the study's bytes and its
    baseline's); ``comm_ratio_exact``: the bytes did not vary across either side's seeds (counted, not sampled:
    the ratio is exact, not an interval)."""
    size = len(out)
    point, lo, hi = ratio(b, m, confidence)
    exact = (m["var"].to_numpy() == 0) & (b["var"].to_numpy() == 0) & np.isfinite(point)
    sim = fin["simulated"][ok].fillna("").astype(str).str.contains("communication").to_numpy(bool) \
        if "simulated" in fin else np.zeros(len(s_ok), bool)
    return out.assign(
        bytes_communicated=pd.Series(_num(fin, "bytes_communicated")[ok]).groupby(s_ok).mean().reindex(
            range(size)).to_numpy(),
        communication_simulated=np.bincount(s_ok, sim, size) > 0,
        comm_ratio=point, comm_ratio_lo=lo, comm_ratio_hi=hi, comm_ratio_exact=exact,
        comm_ratio_at_loss=point * out["data_speedup"],
        comm_ratio_at_loss_lo=lo * out["data_speedup_lo"], comm_ratio_at_loss_hi=hi * out["data_speedup_hi"])


def pareto_front(cost, loss) -> np.ndarray:
    """Boolean mask of the points on the Pareto frontier of (cost, loss), both lower = better: no
    other point has cost <= and loss < (an exact duplicate is kept once). NaNs are never on it."""
    c, y = np.asarray(cost, float), np.asarray(loss, float)
    front, best = np.zeros(len(c), bool), np.inf
    for i in sorted(np.flatnonzero(np.isfinite(c) & np.isfinite(y)), key=lambda i: (c[i], y[i])):
        if y[i] < best:
            front[i], best = True, y[i]
    return front
