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
from scipy import stats

from harness.stats.speedup import speedup_table

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


def _t(confidence: float, df):
    return stats.t.ppf((1 + confidence) / 2, df)


def mean_ci(values, confidence: float = CONFIDENCE) -> Estimate:
    """mean ± t_{n-1} s/sqrt(n) (NaNs dropped); no interval below 2 values, the point itself when they are equal."""
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return Estimate(np.nan, np.nan, np.nan)
    point = float(x.mean())
    if len(x) < 2 or np.ptp(x) == 0:
        return Estimate(point, *((np.nan, np.nan) if len(x) < 2 else (point, point)))
    half = float(_t(confidence, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return Estimate(point, point - half, point + half)


def _welch(b: np.ndarray, m: np.ndarray, confidence: float) -> Estimate:
    """mean(m) - mean(b) with the Welch t interval (Welch–Satterthwaite df)."""
    point = float(m.mean() - b.mean())
    if len(b) < 2 or len(m) < 2:
        return Estimate(point, np.nan, np.nan)
    vb, vm = b.var(ddof=1) / len(b), m.var(ddof=1) / len(m)
    if vb + vm == 0:
        return Estimate(point, point, point)
    df = (vb + vm) ** 2 / (vb**2 / (len(b) - 1) + vm**2 / (len(m) - 1))
    half = float(_t(confidence, df) * np.sqrt(vb + vm))
    return Estimate(point, point - half, point + half)


def _clean(values) -> np.ndarray:
    x = np.asarray(values, float)
    return x[~np.isnan(x)]


def difference_ci(baseline_values, method_values, confidence: float = CONFIDENCE) -> Estimate:
    """mean(method) - mean(baseline) with a Welch t interval (quality and forgetting deltas).
    Calibrated at 3-5 seeds where the bootstrap is not (docs/statistics.md)."""
    b, m = _clean(baseline_values), _clean(method_values)
    if len(b) == 0 or len(m) == 0:
        return Estimate(np.nan, np.nan, np.nan)
    return _welch(b, m, confidence)


def ratio_ci(baseline_values, method_values, confidence: float = CONFIDENCE) -> Estimate:
    """baseline / method as the ratio of geometric means, with the Welch t interval of the log values
    exponentiated (> 1 = the method needs less: steps-, time-, energy-to-target). NaNs (target not reached)
    are dropped; a method at 0 (sends nothing) against a positive baseline is an infinite ratio."""
    b, m = _clean(baseline_values), _clean(method_values)
    if len(b) == 0 or len(m) == 0 or (b < 0).any() or (m < 0).any() or (b == 0).any():
        return Estimate(np.nan, np.nan, np.nan)
    if (m == 0).any():
        return Estimate(np.inf, np.nan, np.nan)
    est = _welch(np.log(m), np.log(b), confidence)
    return Estimate(*(float(np.exp(v)) for v in est))


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


def leaderboard(df: pd.DataFrame, baseline: str, confidence: float = CONFIDENCE, spaces: dict | None = None
                ) -> pd.DataFrame:
    """One row per (suite, workload, scale, budget_multiple, method) of the final phase.

    Columns: n_seeds, n_failed, loss (mean final_val_loss over ok seeds) with loss_lo/loss_hi;
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
    fin = df[df["phase"] == "final"].copy()
    fin["budget"] = _budget(fin)
    if "forgetting" not in fin:  # rows made before the column existed
        fin["forgetting"] = np.nan
    ok = fin[(fin["status"] == "ok") & fin["final_val_loss"].notna()]
    kw = dict(confidence=confidence)
    scale_keys = ["suite", "workload", "scale"]
    speedups = {}
    for key, g in ok.groupby(scale_keys, dropna=False):
        base = g[g["method"] == baseline].rename(columns={"final_val_loss": "loss"})
        for method, gm in g.groupby("method"):
            if len(base) and method != baseline:
                table = speedup_table(base[["budget", "loss"]], gm.rename(columns={"final_val_loss": "loss"}),
                                      confidence)
                for _, r in table.iterrows():
                    speedups[(*key, method, r["budget"])] = r
    baselines = dict(iter(ok[ok["method"] == baseline].groupby(list(STUDY_KEYS[:4]), dropna=False)))
    communicates = "bytes_communicated" in fin and fin["bytes_communicated"].notna().any()
    rows = []
    for key, g in fin.groupby(list(STUDY_KEYS), dropna=False):
        row = dict(zip(STUDY_KEYS, key, strict=True))
        good = g[(g["status"] == "ok") & g["final_val_loss"].notna()]
        base = baselines.get(key[:4], ok.iloc[:0])
        loss = mean_ci(good["final_val_loss"], confidence)
        row.update(budget=g["budget"].iloc[0], params=g["params"].iloc[0], device=",".join(sorted(
                   g["device"].dropna().unique())), n_seeds=len(good), n_failed=len(g) - len(good),
                   loss=loss.point, loss_lo=loss.lo, loss_hi=loss.hi, simulated=_simulated(g),
                   metric_name=g["val_metric_name"].iloc[0] if "val_metric_name" in g else None,
                   flags=flags(good, float(key[3]), (spaces or {}).get(key[4])))
        s = speedups.get((*key[:3], key[4], row["budget"]))
        if key[4] == baseline and len(good):
            row.update(data_speedup=1.0, data_speedup_lo=np.nan, data_speedup_hi=np.nan, data_speedup_kind="baseline",
                       data_speedup_text="1.00x (baseline)")
        else:
            row.update(data_speedup=np.nan if s is None else s["speedup"],
                       data_speedup_lo=np.nan if s is None else s["speedup_lo"],
                       data_speedup_hi=np.nan if s is None else s["speedup_hi"],
                       data_speedup_kind=None if s is None else s["kind"],
                       data_speedup_text="—" if s is None else s["text"])
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


EDGE_SHARE = 0.05  # a tuned value within 5% of its range's end (log scale for LogUniform) sits on the edge
CHANCE_SHARE = 0.99  # a final loss at >= 99% of a uniform guess's loss: the method did not learn


def _on_edge(value, space) -> bool:
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None or not isinstance(value, int | float) or not high > low:
        return False
    log = type(space).__name__ == "LogUniform" and low > 0 and value > 0
    u = (np.log(value / low) / np.log(high / low)) if log else (value - low) / (high - low)
    return bool(u <= EDGE_SHARE or u >= 1 - EDGE_SHARE)


def flags(good: pd.DataFrame, budget_multiple: float, space: dict | None = None) -> str:
    """Warnings that travel with a study's numbers (comma-separated, empty when none):
    did not learn (mean final loss >= CHANCE_SHARE x ``chance_loss``, the loss of a uniform guess);
    single seed; under-trained regime (budget < 1x Chinchilla); possibly undertuned (the tuned value of a
    hyperparameter within EDGE_SHARE of its search range's end: the optimum may lie outside it);
    contended machine (load above the cores during a trial: its time and energy are unreliable)."""
    out = []
    chance = good["chance_loss"].dropna() if "chance_loss" in good else pd.Series(dtype=float)
    if len(chance) and len(good) and good["final_val_loss"].mean() >= CHANCE_SHARE * chance.iloc[0]:
        out.append("did not learn")
    if len(good) < 2:
        out.append("single seed")
    if budget_multiple < 1:
        out.append("under-trained regime")
    if space and len(good) and "hparams_json" in good and isinstance(good["hparams_json"].iloc[0], str):
        tuned = json.loads(good["hparams_json"].iloc[0])
        if any(_on_edge(tuned.get(k), s) for k, s in space.items()):
            out.append("possibly undertuned")
    if "contended" in good and good["contended"].fillna(False).astype(bool).any():
        out.append("contended machine")
    return ", ".join(out)


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
