"""Statistics of a results table: data speedups, bootstrap confidence intervals, ratios against the
baseline, performance profiles, rankings with ties and learning-rate sensitivity.

Pure pandas/numpy/scipy: no torch, no I/O. Every function takes plain numbers or the results
DataFrame of ``harness.store.SCHEMA``; claim verdicts live in ``harness.stats.claims``.

References:
    Wen, Hall, Ma, Liang. Fantastic Pretraining Optimizers and Where to Find Them. arXiv:2509.02046
    (data speedup). Dolan, Moré. Benchmarking optimization software with performance profiles.
    Math. Program. 91 (2002). Dahl et al. Benchmarking Neural Network Training Algorithms
    (AlgoPerf), arXiv:2306.07179 (score = normalised area under the performance profile).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from harness.stats.power_law import PowerLaw, fit_power_law, fit_rows  # noqa: F401 (the first two re-exported)

STUDY_KEYS = ("suite", "workload", "scale", "budget_multiple", "method")
MEASURED_ENERGY_METHODS = ("nvml",)  # energy_method values that are measurements, not estimates
EDGE = 0.01  # D* within 1% of the baseline's budget range is not an extrapolation (fit noise)


class Estimate(NamedTuple):
    """A point estimate and its confidence interval; ``lo``/``hi`` are NaN when there is none."""

    point: float
    lo: float
    hi: float

    @property
    def has_interval(self) -> bool:
        return bool(np.isfinite(self.lo) and np.isfinite(self.hi))


# --------------------------------------------------------------------------- data speedup


def _interpolated_budget(budgets: np.ndarray, losses: np.ndarray, loss: float) -> float:
    """D* on the running-minimum envelope of L against log D (linear in log D between budgets,
    the end segments extended beyond them); the smallest D where the envelope is flat."""
    order = np.argsort(budgets)
    logd, env = np.log(budgets[order]), np.minimum.accumulate(losses[order])
    keep = np.r_[True, np.diff(env) < 0]
    x, y = logd[keep], env[keep]
    if len(x) < 2:
        return float(budgets[order][0]) if loss == y[0] else np.nan
    if y[-1] <= loss <= y[0]:
        return float(np.exp(np.interp(-loss, -y, x)))
    i, j = (0, 1) if loss > y[0] else (-2, -1)
    with np.errstate(over="ignore"):  # far beyond the budgets the line reaches no finite D: inf
        return float(np.exp(x[i] + (loss - y[i]) * (x[j] - x[i]) / (y[j] - y[i])))


def _equivalent_budgets(bd: np.ndarray, bl: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D* of each method loss on the baseline's power law (or its interpolation), and which was used.

    ``bl`` (R x budgets) and ``losses`` (R x method budgets) hold R resamples, fitted at once; budgets
    whose baseline loss is not finite in some row are left out. Returns D* (R x method budgets)
    and the fit of each row ("power_law" | "interpolation").
    """
    ok = np.isfinite(bd) & np.isfinite(bl).all(0)
    order = np.argsort(bd[ok])
    bd, bl = bd[ok][order], bl[:, ok][:, order]
    d_star = np.full(losses.shape, np.nan)
    trusted = np.zeros(len(bl), bool)
    if len(np.unique(bd)) >= 3 and len(np.unique(bd)) == len(bd):
        a, b, c, trusted = fit_rows(bd, bl)
        with np.errstate(divide="ignore", invalid="ignore"):
            law = bd[0] * (a[:, None] / (losses - c[:, None])) ** (1.0 / b[:, None])
        d_star = np.where(losses > c[:, None], law, np.where(np.isfinite(losses), np.inf, np.nan))
    for r in np.flatnonzero(~trusted):
        d_star[r] = [_interpolated_budget(bd, bl[r], x) if np.isfinite(x) and len(bd) else np.nan
                     for x in losses[r]]
    return d_star, np.where(trusted, "power_law", "interpolation")


def data_speedup(baseline_budgets, baseline_losses, method_budgets, method_losses) -> pd.DataFrame:
    """Data speedup of a method over the baseline, as in "Fantastic Pretraining Optimizers".

    Fit the baseline's final loss against budget, L(D) = a·D^-b + c, and invert it at the method's
    final loss: D* = (a / (L_method - c))^(1/b); speedup = D* / D at each method budget D. When the
    fit fails (see ``fit_power_law``), D* comes from monotone interpolation in log D instead.

    Returns one row per method budget: budget, method_loss, equivalent_baseline_budget, speedup,
    extrapolated (D* more than ``EDGE`` = 1% outside the baseline's budgets, or L <= c), fit
    ("power_law" | "interpolation").
    """
    bd, bl = np.asarray(baseline_budgets, float), np.asarray(baseline_losses, float)
    budgets, losses = np.asarray(method_budgets, float), np.asarray(method_losses, float)
    d_star, fit = (v[0] for v in _equivalent_budgets(bd, bl[None], losses[None]))
    ok = np.isfinite(bd) & np.isfinite(bl)
    low, high = bd[ok].min(initial=np.inf) / (1 + EDGE), bd[ok].max(initial=-np.inf) * (1 + EDGE)
    outside = np.isinf(d_star) | (np.isfinite(d_star) & ((d_star < low) | (d_star > high)))
    rows = [{"budget": b, "method_loss": x, "equivalent_baseline_budget": d, "speedup": d / b,
             "extrapolated": bool(o), "fit": fit}
            for b, x, d, o in zip(budgets, losses, d_star, outside, strict=True)]
    return pd.DataFrame(rows, columns=["budget", "method_loss", "equivalent_baseline_budget", "speedup",
                                       "extrapolated", "fit"])


# --------------------------------------------------------------------------- confidence intervals


def bootstrap_ci(values, statistic: Callable = np.mean, confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0, method: str = "BCa") -> Estimate:
    """(point, lo, hi): point = statistic(values); [lo, hi] = the bootstrap confidence interval of
    ``scipy.stats.bootstrap`` (BCa; percentile where BCa is undefined). NaNs are dropped; with
    fewer than 2 values there is no interval (lo = hi = NaN, ``has_interval`` False)."""
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return Estimate(np.nan, np.nan, np.nan)
    point = float(statistic(x))
    if len(x) < 2:
        return Estimate(point, np.nan, np.nan)
    if np.ptp(x) == 0:
        return Estimate(point, point, point)
    return Estimate(point, *_scipy_interval((x,), statistic, confidence, n_resamples, seed, method))


def _scipy_interval(samples, statistic, confidence, n_resamples, seed, method) -> tuple[float, float]:
    for m in dict.fromkeys((method, "percentile")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa's DegenerateDataWarning: we fall back to percentile
            res = stats.bootstrap(samples, statistic, confidence_level=confidence, n_resamples=n_resamples,
                                  method=m, rng=np.random.default_rng(seed), paired=False)
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(lo) and np.isfinite(hi):
            return lo, hi
    return np.nan, np.nan


def _two_sample(baseline_values, method_values, stat, confidence, n_resamples, seed, method) -> Estimate:
    b, m = (np.asarray(v, float) for v in (baseline_values, method_values))
    b, m = b[~np.isnan(b)], m[~np.isnan(m)]
    if len(b) == 0 or len(m) == 0:
        return Estimate(np.nan, np.nan, np.nan)
    point = float(stat(b, m, axis=-1))
    if len(b) < 2 or len(m) < 2:
        return Estimate(point, np.nan, np.nan)
    if np.ptp(b) == 0 and np.ptp(m) == 0:
        return Estimate(point, point, point)
    return Estimate(point, *_scipy_interval((b, m), stat, confidence, n_resamples, seed, method))


def ratio_ci(baseline_values, method_values, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0,
             method: str = "BCa") -> Estimate:
    """mean(baseline) / mean(method) with a two-independent-sample bootstrap CI (> 1 = the method
    needs less: steps-, time- or energy-to-target). NaNs (target not reached) are dropped."""
    return _two_sample(baseline_values, method_values,
                       lambda b, m, axis: np.mean(b, axis=axis) / np.mean(m, axis=axis),
                       confidence, n_resamples, seed, method)


def difference_ci(baseline_values, method_values, confidence: float = 0.95, n_resamples: int = 2000,
                  seed: int = 0, method: str = "BCa") -> Estimate:
    """mean(method) - mean(baseline) with a two-independent-sample bootstrap CI (quality deltas)."""
    return _two_sample(baseline_values, method_values,
                       lambda b, m, axis: np.mean(m, axis=axis) - np.mean(b, axis=axis),
                       confidence, n_resamples, seed, method)


def data_speedup_ci(baseline: pd.DataFrame, method: pd.DataFrame, confidence: float = 0.95,
                    n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """``data_speedup`` on per-budget seed means, with a percentile bootstrap CI per method budget.

    ``baseline``/``method`` have columns budget, loss (one row per seed). Each resample draws the
    seeds of every budget with replacement, independently for both, and refits (all resamples in one
    vectorised profile fit, ``power_law.fit_rows``). A budget with a
    single seed on either side gives no interval (lo = hi = NaN).
    """
    def means(frame):
        return frame.groupby("budget")["loss"].mean()

    b_groups = {k: g["loss"].to_numpy(float) for k, g in baseline.groupby("budget")}
    m_groups = {k: g["loss"].to_numpy(float) for k, g in method.groupby("budget")}
    b_mean, m_mean = means(baseline), means(method)
    table = data_speedup(b_mean.index, b_mean.values, m_mean.index, m_mean.values)
    rng = np.random.default_rng(seed)

    def resampled_means(groups, keys):  # (n_resamples, budgets): seeds drawn with replacement
        return np.stack([g[rng.integers(0, len(g), (n_resamples, len(g)))].mean(1)
                         for g in (groups[k] for k in keys)], axis=1)

    b_budgets, m_budgets = b_mean.index.to_numpy(float), m_mean.index.to_numpy(float)
    bl, ml = resampled_means(b_groups, b_mean.index), resampled_means(m_groups, m_mean.index)
    draws = _equivalent_budgets(b_budgets, bl, ml)[0] / m_budgets
    alpha = (1 - confidence) / 2
    single = min(map(len, b_groups.values())) < 2 or np.array([len(m_groups[k]) < 2 for k in m_mean.index])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN bounds
        lo, hi = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
    table["speedup_lo"] = np.where(single, np.nan, lo)
    table["speedup_hi"] = np.where(single, np.nan, hi)
    return table


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
                   lower_is_better: bool = True) -> pd.Series:
    """Competition ranks (1, 1, 3, ...) where methods whose intervals overlap share a rank.

    Sort by ``value``; a method joins the rank of the current group when its interval overlaps
    the interval of that group's first (best) member, else it starts a new group whose rank is
    its position. A row without an interval is a point interval [value, value].
    """
    v = df[value].astype(float)
    order = v.sort_values(ascending=lower_is_better, kind="stable").index
    low = df[lo].astype(float).fillna(v) if lo in df else v
    high = df[hi].astype(float).fillna(v) if hi in df else v
    ranks, leader = pd.Series(0, index=df.index, name="rank"), None
    for position, i in enumerate(order, start=1):
        if leader is not None and low[i] <= high[leader] and low[leader] <= high[i]:
            ranks[i] = ranks[leader]
        else:
            ranks[i], leader = position, i
    return ranks


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


def _budget(df: pd.DataFrame) -> pd.Series:
    return df["budget_tokens"].astype(float).fillna(df["budget_multiple"].astype(float))


def _to_target(g: pd.DataFrame, column: str) -> np.ndarray:
    reached = g["reached_target"].fillna(False).astype(bool) if "reached_target" in g else True
    return g[column].astype(float).where(reached).to_numpy()


LOWER_IS_BETTER = ("bits_per_token", "bits_per_byte", "mse", "loss", "perplexity")


def _energy_quality(methods: pd.Series) -> str:
    methods = methods.dropna()
    if methods.empty or (methods == "none").all():
        return "none"
    return "measured" if methods.isin(MEASURED_ENERGY_METHODS).all() else "estimated"


def leaderboard(df: pd.DataFrame, baseline: str, confidence: float = 0.95, n_resamples: int = 1000,
                seed: int = 0) -> pd.DataFrame:
    """One row per (suite, workload, scale, budget_multiple, method) of the final phase.

    Columns: n_seeds, n_failed, loss (mean final_val_loss over ok seeds) with loss_lo/loss_hi;
    data_speedup (+ _lo, _hi, _extrapolated, _fit) against ``baseline`` across that scale's
    budgets; loss_delta = baseline - method loss and metric_delta = the final_val_metric difference
    oriented so that positive = better (method - baseline for accuracy, baseline - method for
    ``LOWER_IS_BETTER`` metrics such as bits per token) and forgetting_delta = baseline - method
    forgetting (continual workloads; positive = forgets less) with CIs; steps_ratio,
    time_ratio, energy_ratio = baseline / method to target (> 1 = faster) with CIs, the fraction
    of seeds that reached the target, and energy_quality ("measured" | "estimated" | "none");
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
    fin = df[df["phase"] == "final"].copy()
    fin["budget"] = _budget(fin)
    if "forgetting" not in fin:  # rows made before the column existed
        fin["forgetting"] = np.nan
    ok = fin[(fin["status"] == "ok") & fin["final_val_loss"].notna()]
    kw = dict(confidence=confidence, n_resamples=n_resamples, seed=seed)
    scale_keys = ["suite", "workload", "scale"]
    speedups = {}
    for key, g in ok.groupby(scale_keys, dropna=False):
        base = g[g["method"] == baseline].rename(columns={"final_val_loss": "loss"})
        for method, gm in g.groupby("method"):
            if len(base):
                mine = gm.rename(columns={"final_val_loss": "loss"})[["budget", "loss"]]
                table = data_speedup_ci(base[["budget", "loss"]], mine, **kw)
                for _, r in table.iterrows():
                    speedups[(*key, method, r["budget"])] = r
    baselines = dict(iter(ok[ok["method"] == baseline].groupby(list(STUDY_KEYS[:4]), dropna=False)))
    communicates = "bytes_communicated" in fin and fin["bytes_communicated"].notna().any()
    rows = []
    for key, g in fin.groupby(list(STUDY_KEYS), dropna=False):
        row = dict(zip(STUDY_KEYS, key, strict=True))
        good = g[(g["status"] == "ok") & g["final_val_loss"].notna()]
        base = baselines.get(key[:4], ok.iloc[:0])
        loss = bootstrap_ci(good["final_val_loss"], **kw)
        row.update(budget=g["budget"].iloc[0], params=g["params"].iloc[0], device=",".join(sorted(
                   g["device"].dropna().unique())), n_seeds=len(good), n_failed=len(g) - len(good),
                   loss=loss.point, loss_lo=loss.lo, loss_hi=loss.hi, simulated=_simulated(g),
                   metric_name=g["val_metric_name"].iloc[0] if "val_metric_name" in g else None)
        s = speedups.get((*key[:3], key[4], row["budget"]))
        row.update(data_speedup=np.nan if s is None else s["speedup"],
                   data_speedup_lo=np.nan if s is None else s["speedup_lo"],
                   data_speedup_hi=np.nan if s is None else s["speedup_hi"],
                   data_speedup_extrapolated=None if s is None else bool(s["extrapolated"]),
                   data_speedup_fit=None if s is None else s["fit"])
        lower = "val_metric_name" in g and g["val_metric_name"].isin(LOWER_IS_BETTER).any()  # > 0: better
        pair = (good, base) if lower else (base, good)
        deltas = {"loss_delta": difference_ci(good["final_val_loss"], base["final_val_loss"], **kw),
                  "metric_delta": difference_ci(pair[0]["final_val_metric"], pair[1]["final_val_metric"], **kw),
                  "forgetting_delta": difference_ci(good["forgetting"], base["forgetting"], **kw)}
        for name, est in deltas.items():
            row.update({name: est.point, f"{name}_lo": est.lo, f"{name}_hi": est.hi})
        for name, column in (("steps", "steps_to_target"), ("time", "time_to_target_s"),
                             ("energy", "energy_to_target_j")):
            mine = _to_target(good, column)
            est = ratio_ci(_to_target(base, column), mine, **kw)
            row.update({f"{name}_ratio": est.point, f"{name}_ratio_lo": est.lo, f"{name}_ratio_hi": est.hi,
                        f"{name}_reached": float(np.mean(~np.isnan(mine))) if len(mine) else np.nan})
        for name, column in (("overhead", "step_time_ms_p50"), ("memory", "peak_mem_bytes")):
            est = ratio_ci(good[column].astype(float), base[column].astype(float), **kw)  # method / baseline
            row.update({f"{name}_ratio": est.point, f"{name}_ratio_lo": est.lo, f"{name}_ratio_hi": est.hi})
        row["energy_quality"] = _energy_quality(good["energy_method"])
        if communicates:
            row.update(_communication(good, base, row["data_speedup"], row["data_speedup_lo"],
                                      row["data_speedup_hi"], kw))
        rows.append(row)
    return pd.DataFrame(rows)


def _simulated(g: pd.DataFrame) -> str | None:
    """What the study's rows only simulated (``"activations,weights"``, ``"communication"``), or None."""
    parts = {p for v in g.get("simulated", pd.Series(dtype=object)).dropna() for p in str(v).split(",") if p}
    return ",".join(sorted(parts)) or None


def _communication(good: pd.DataFrame, base: pd.DataFrame, speedup: float, speedup_lo: float,
                   speedup_hi: float, kw: dict) -> dict:
    """Communication columns of one leaderboard row (see ``leaderboard``)."""
    mine, theirs = (g["bytes_communicated"].astype(float).dropna() for g in (good, base))
    with np.errstate(divide="ignore", invalid="ignore"):  # a method that sends nothing: an infinite reduction
        est = ratio_ci(theirs, mine, **kw)
    return {"bytes_communicated": mine.mean() if len(mine) else np.nan,
            "communication_simulated": "simulated" in good and bool(
                good["simulated"].fillna("").astype(str).str.contains("communication").any()),
            "comm_ratio": est.point, "comm_ratio_lo": est.lo, "comm_ratio_hi": est.hi,
            "comm_ratio_at_loss": est.point * speedup, "comm_ratio_at_loss_lo": est.lo * speedup_lo,
            "comm_ratio_at_loss_hi": est.hi * speedup_hi}


def pareto_front(cost, loss) -> np.ndarray:
    """Boolean mask of the points on the Pareto frontier of (cost, loss), both lower = better: no
    other point has cost <= and loss < (an exact duplicate is kept once). NaNs are never on it."""
    c, y = np.asarray(cost, float), np.asarray(loss, float)
    front, best = np.zeros(len(c), bool), np.inf
    for i in sorted(np.flatnonzero(np.isfinite(c) & np.isfinite(y)), key=lambda i: (c[i], y[i])):
        if y[i] < best:
            front[i], best = True, y[i]
    return front
