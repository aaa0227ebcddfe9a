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
from harness.stats.moments import KAPPA, moments, one, ratio, welch
from harness.stats.speedup import speedup_tables

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


def _budget(df: pd.DataFrame) -> pd.Series:
    return df["budget_tokens"].astype(float).fillna(df["budget_multiple"].astype(float))


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
    fin = df[df["phase"] == "final"].copy()
    if fin.empty:
        return pd.DataFrame()
    fin["budget"] = _budget(fin)
    if "forgetting" not in fin:  # rows made before the column existed
        fin["forgetting"] = np.nan
    keys = list(STUDY_KEYS)
    fin = fin.sort_values(keys, kind="stable").reset_index(drop=True)
    fin["_study"] = fin.groupby(keys, sort=False, dropna=False).ngroup()  # 0, 1, ... in key order
    fin["_cell"] = fin.groupby(keys[:4], sort=False, dropna=False).ngroup()  # the study's baseline
    fin["_scale"] = fin.groupby(keys[:3], sort=False, dropna=False).ngroup()  # the baseline's budgets
    head = fin.drop_duplicates("_study")  # each study's first row (budget, params, metric name)
    out = head[[*keys, "budget", "params"]].reset_index(drop=True)
    ok = fin[(fin["status"] == "ok") & fin["final_val_loss"].notna()]
    base = ok[ok["method"] == baseline]
    cells, size = head["_cell"].to_numpy(), len(out)
    n = np.bincount(ok["_study"], minlength=size)
    out["device"] = _joined(fin, "device", size)
    out["n_seeds"], out["n_failed"] = n, np.bincount(fin["_study"], minlength=size) - n
    out["repeats"] = _repeats(ok, size)
    kappa = np.where(out["repeats"].to_numpy() >= 2, 0.0, KAPPA)  # the between-study variance term per study
    loss = moments(ok, "_study", "final_val_loss", size)
    out["loss"], out["loss_lo"], out["loss_hi"] = mom.mean_ci(loss, confidence, kappa)
    out["loss_var"] = loss["var"].to_numpy()  # the seeds' variance: direct comparisons between budgets
    out["loss_lo"] = np.maximum(out["loss_lo"], 0.0)  # a loss is never negative
    out["metric"], out["metric_lo"], out["metric_hi"] = mom.mean_ci(moments(ok, "_study", "final_val_metric", size),
                                                                 confidence, kappa)
    parts = fin[["_study", "simulated"]].dropna() if "simulated" in fin else fin.iloc[:0].assign(simulated="")
    parts = parts.assign(simulated=parts["simulated"].astype(str).str.split(",")).explode("simulated")
    out["simulated"] = [v or None for v in _joined(parts[parts["simulated"] != ""], "simulated", size)]
    out["metric_name"] = head["val_metric_name"].to_numpy() if "val_metric_name" in head else None
    is_base = (out["method"] == baseline).to_numpy()
    losses = ok.rename(columns={"final_val_loss": "loss"})
    single = out.assign(_single=kappa > 0).groupby(keys[:3], sort=False)["_single"].any()  # a scale's studies
    table = speedup_tables(base.rename(columns={"final_val_loss": "loss"})[[*keys[:3], "budget", "loss"]],
                           losses.loc[losses["method"] != baseline, [*keys[:3], "method", "budget", "loss"]],
                           keys[:3], confidence, kappa={k: KAPPA * v for k, v in single.items()})
    su = out[[*keys[:3], "method", "budget"]].merge(table, on=[*keys[:3], "method", "budget"], how="left")
    has = su["kind"].notna().to_numpy() & ~is_base
    for col, src, empty in (("", "speedup", np.nan), ("_lo", "speedup_lo", np.nan), ("_hi", "speedup_hi", np.nan),
                            ("_kind", "kind", None), ("_text", "text", "—")):
        out[f"data_speedup{col}"] = su[src].where(has, empty).to_numpy()
    span = base.groupby("_scale")["budget"].agg(["min", "max"]).reindex(head["_scale"].to_numpy())
    out["speedup_range_lo"] = span["min"].to_numpy() / out["budget"].to_numpy(float)  # what the baseline's budgets
    out["speedup_range_hi"] = span["max"].to_numpy() / out["budget"].to_numpy(float)  # can measure: D_1/D .. D_k/D
    mark = is_base & (n > 0)
    out.loc[mark, ["data_speedup", "data_speedup_kind", "data_speedup_text"]] = [1.0, "baseline", "1.00x (baseline)"]
    lower = (fin["val_metric_name"].isin(LOWER_IS_BETTER).groupby(fin["_study"]).any().to_numpy()
             if "val_metric_name" in fin else np.zeros(size, bool))
    accuracy = (out["metric_name"] == "accuracy").to_numpy()
    out["test_var"] = np.where(accuracy, testset.paired_variance(ok, base, cells, size), np.nan)
    ones = np.ones(size)  # +1: baseline - method (less loss, less forgetting); -1: method - baseline
    for name, column, sign, extra in (
            ("loss_delta", "final_val_loss", ones, 0.0),
            ("metric_delta", "final_val_metric", np.where(lower, 1.0, -1.0), np.nan_to_num(out["test_var"])),
            ("forgetting_delta", "forgetting", ones, 0.0)):
        m, b = moments(ok, "_study", column, size), _theirs(base, column, cells)
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = _welch_diff(m, b, confidence, sign, kappa, extra)
    for end in ("metric", "metric_lo", "metric_hi"):  # an accuracy lies in [0, 1], a difference of two in [-1, 1]
        out[end] = np.where(accuracy, np.clip(out[end], 0.0, 1.0), out[end])
        delta = end.replace("metric", "metric_delta")
        out[delta] = np.where(accuracy, np.clip(out[delta], -1.0, 1.0), out[delta])
    for name in to_target.COLUMNS:
        got = to_target.ratios(base, ok, cells, size, name, confidence, kappa)
        out[f"{name}_ratio"], out[f"{name}_ratio_lo"], out[f"{name}_ratio_hi"] = got["point"], got["lo"], got["hi"]
        out[f"{name}_ratio_kind"] = got["kind"]
        reached = ok["reached_target"].astype("boolean").fillna(False) if "reached_target" in ok else False
        out[f"{name}_reached"] = pd.Series(reached, index=ok.index, dtype=float).groupby(ok["_study"]).mean().reindex(
            range(size)).to_numpy()
    for name, column in (("overhead", "step_time_ms_p50"), ("memory", "peak_mem_bytes")):
        m = moments(ok, "_study", column, size, log=True)
        b = _theirs(base, column, cells, log=True)
        out[f"{name}_ratio"], out[f"{name}_ratio_lo"], out[f"{name}_ratio_hi"] = ratio(m, b, confidence)
    out["energy_quality"] = _energy_quality(ok, size)
    out["flags"] = _flags(ok, out, spaces)
    if "bytes_communicated" in fin and fin["bytes_communicated"].notna().any():
        out = _communication(out, ok, base, cells, confidence)
    return out


# --------------------------------------------------------------------------- per-study moments, vectorised


def _theirs(base: pd.DataFrame, column: str, cells: np.ndarray, log: bool = False) -> pd.DataFrame:
    """The baseline's moments beside each study (``cells``: each study's (suite, workload, scale, budget) code)."""
    return moments(base, "_cell", column, int(cells.max()) + 1, log).iloc[cells]


def _welch_diff(m, b, confidence, sign, kappa=0.0, extra=0.0):
    """``difference_ci`` per row, times ``sign`` (+1: baseline - method, -1: method - baseline)."""
    point, lo, hi = welch(m, b, confidence, kappa, extra)  # mean(b) - mean(m)
    return (point * sign, np.where(sign > 0, lo, -hi), np.where(sign > 0, hi, -lo))


def _repeats(ok: pd.DataFrame, size: int) -> np.ndarray:
    """Per study: how many repeated tuning studies its final rows come from (rows without ``repeat``: one)."""
    if "repeat" not in ok:
        return np.ones(size, int)
    pairs = ok[["_study"]].assign(r=ok["repeat"].fillna(0)).drop_duplicates()
    return np.maximum(np.bincount(pairs["_study"], minlength=size), 1)


def _joined(frame: pd.DataFrame, column: str, size: int) -> list[str]:
    """Per study code: the distinct non-null values of ``column``, sorted and comma-joined ("" when none)."""
    if column not in frame:
        return [""] * size
    parts = frame[["_study", column]].dropna().drop_duplicates().sort_values(column)
    return parts.groupby("_study")[column].agg(",".join).reindex(range(size), fill_value="").tolist()


EDGE_SHARE = 0.05  # a tuned value within 5% of its range's end (log scale for LogUniform) sits on the edge
CHANCE_SHARE = 0.99  # a final loss at >= 99% of a uniform guess's loss: the method did not learn


def _on_edge(value, space) -> bool:
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None or not isinstance(value, int | float) or not high > low:
        return False
    log = type(space).__name__ == "LogUniform" and low > 0 and value > 0
    u = (np.log(value / low) / np.log(high / low)) if log else (value - low) / (high - low)
    return bool(u <= EDGE_SHARE or u >= 1 - EDGE_SHARE)


def _flags(ok: pd.DataFrame, out: pd.DataFrame, spaces: dict | None) -> list[str]:
    """Warnings that travel with each study's numbers (comma-separated, empty when none), per row of ``out``
    (``ok``: the studies' successful final rows, with their ``_study`` code):
    did not learn (mean final loss >= CHANCE_SHARE x ``chance_loss``, the loss of a uniform guess);
    single seed; under-trained regime (budget < 1x Chinchilla); possibly undertuned (the tuned value of a
    hyperparameter within EDGE_SHARE of its search range's end: the optimum may lie outside it; the space
    recorded with the trial, else ``spaces`` = {method: search space}); contended machine (load above the
    cores during a trial: its time and energy are unreliable); tuning noise assumed (one tuning study: its intervals
    carry the between-study term ``KAPPA``, an assumption, not a measurement: ``tuning.repeats`` measures it);
    test-set variance not measured (an accuracy without per-example results: its difference's interval is the
    seeds' alone)."""
    size, by = len(out), ok["_study"]
    column = lambda name: ok[name] if name in ok else pd.Series(np.nan, index=ok.index)  # noqa: E731
    chance = column("chance_loss").astype(float).groupby(by).first().reindex(range(size)).to_numpy()
    mean = ok["final_val_loss"].groupby(by).mean().reindex(range(size)).to_numpy()
    dead = np.nan_to_num(mean) >= CHANCE_SHARE * np.where(np.isfinite(chance), chance, np.inf)
    busy = column("contended").astype(float).fillna(0).astype(bool).groupby(by).any().reindex(range(size),
                                                                                             fill_value=False)
    tuned = column("hparams_json").groupby(by).first().reindex(range(size)).tolist()
    recorded = column("search_space_json").groupby(by).first().reindex(range(size)).tolist()
    result = []
    single = (out["repeats"] < 2).to_numpy() & (out["n_seeds"] > 0).to_numpy()
    no_test = ((out["metric_name"] == "accuracy") & out["test_var"].isna()).to_numpy()
    for n, method, multiple, died, hp, own, contended, one_study, untested in zip(
            out["n_seeds"], out["method"], out["budget_multiple"], dead, tuned, recorded, busy, single, no_test,
            strict=True):
        space = space_from_json(own) if isinstance(own, str) else (spaces or {}).get(method)
        edge = bool(space) and isinstance(hp, str) and any(_on_edge(json.loads(hp).get(k), s) for k, s in space.items())
        result.append(", ".join(name for name, on in (
            ("did not learn", n > 0 and died), ("single seed", n < 2), ("under-trained regime", float(multiple) < 1),
            ("possibly undertuned", n > 0 and edge), ("contended machine", contended),
            ("tuning noise assumed", one_study), ("test-set variance not measured", untested)) if on))
    return result


def _energy_quality(ok: pd.DataFrame, size: int) -> np.ndarray:
    """Per study: "measured" (every energy figure from ``MEASURED_ENERGY_METHODS``), "estimated" or "none"."""
    m = ok[["_study", "energy_method"]].dropna()
    by = m["_study"]
    measured = m["energy_method"].isin(MEASURED_ENERGY_METHODS).groupby(by).all()
    quality = measured.map({True: "measured", False: "estimated"}).where(~(m["energy_method"] == "none").groupby(
        by).all(), "none")
    return quality.reindex(range(size)).fillna("none").to_numpy(object)


def _communication(out: pd.DataFrame, ok: pd.DataFrame, base: pd.DataFrame, cells: np.ndarray, confidence: float
                   ) -> pd.DataFrame:
    """The communication columns (see ``leaderboard``); ``comm_ratio_exact``: the bytes did not vary across either
    side's seeds (counted, not sampled: the ratio is exact, not an interval)."""
    size = len(out)
    m = moments(ok, "_study", "bytes_communicated", size, log=True)
    b = _theirs(base, "bytes_communicated", cells, log=True)
    point, lo, hi = ratio(b, m, confidence)
    exact = (m["var"].to_numpy() == 0) & (b["var"].to_numpy() == 0) & np.isfinite(point)
    sim = ok["simulated"].fillna("").astype(str).str.contains("communication") if "simulated" in ok else \
        pd.Series(False, index=ok.index)
    return out.assign(
        bytes_communicated=ok["bytes_communicated"].astype(float).groupby(ok["_study"]).mean().reindex(
            range(size)).to_numpy(),
        communication_simulated=sim.groupby(ok["_study"]).any().reindex(range(size), fill_value=False).to_numpy(bool),
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
