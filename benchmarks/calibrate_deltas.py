"""Are the intervals of quality deltas and ratios calibrated at 3-5 seeds? (docs/statistics.md)

Normal seed noise, known truth. For a difference of means (a "quality" claim, e.g. accuracy, null 0):
the BCa bootstrap the project used before (scipy, percentile fallback: ``_scipy_interval`` below is
the earlier harness/analysis.py code, kept here as the comparison), the percentile bootstrap, and the
project's ``difference_ci`` (Welch t). For a ratio (steps / time to target, null 1): BCa, percentile,
and the project's ``ratio_ci`` (Welch t on log values, exponentiated: the ratio of geometric means).
Also the false-support rate and power of the verdict rules on these intervals. Run:
``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/calibrate_deltas.py`` (~1 min: scipy's bootstrap
is called once per replicate).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import stats

from harness.stats.analysis import difference_ci, ratio_ci

REPS = 2000
N_RESAMPLES = 1000  # what leaderboard() passes


def _scipy_interval(samples, statistic, confidence, n_resamples, seed, method):
    for m in dict.fromkeys((method, "percentile")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCa's DegenerateDataWarning: we fall back to percentile
            res = stats.bootstrap(samples, statistic, confidence_level=confidence, n_resamples=n_resamples,
                                  method=m, rng=np.random.default_rng(seed), paired=False)
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(lo) and np.isfinite(hi):
            return lo, hi
    return np.nan, np.nan


def diff_stat(b, m, axis):
    return np.mean(m, axis=axis) - np.mean(b, axis=axis)


def ratio_stat(b, m, axis):
    return np.mean(b, axis=axis) / np.mean(m, axis=axis)


def project(fn, b, m):
    """The project's interval (``difference_ci`` / ``ratio_ci``) of every replicate row: (lo, hi) arrays."""
    iv = np.array([tuple(fn(b[r], m[r]))[1:] for r in range(len(b))])
    return iv[:, 0], iv[:, 1]


def run(kind, S, cv_or_sd, rng):
    if kind == "difference":  # accuracy 0.90 vs 0.91, seed sd given
        truth = 0.01
        b = rng.normal(0.90, cv_or_sd, (REPS, S))
        m = rng.normal(0.90 + truth, cv_or_sd, (REPS, S))
        stat, (t_lo, t_hi) = diff_stat, project(difference_ci, b, m)
    else:  # steps to target 1000 vs 1000 / 1.5, same CV
        truth = 1.5
        b = rng.normal(1000, 1000 * cv_or_sd, (REPS, S))
        m = rng.normal(1000 / truth, 1000 / truth * cv_or_sd, (REPS, S))
        stat, (t_lo, t_hi) = ratio_stat, project(ratio_ci, b, m)
    out = {}
    for method in ("BCa", "percentile"):
        iv = np.array([_scipy_interval((b[r], m[r]), stat, 0.95, N_RESAMPLES, 0, method) for r in range(REPS)])
        out[method] = iv[:, 0], iv[:, 1]
    out["Welch t" if kind == "difference" else "Welch t on logs"] = t_lo, t_hi
    rows = []
    for name, (lo, hi) in out.items():
        rows.append(dict(kind=kind, S=S, noise=cv_or_sd, method=name, coverage=np.mean((lo <= truth) & (truth <= hi)),
                         miss_low=np.mean(lo > truth), miss_high=np.mean(hi < truth),
                         median_width=float(np.median(hi - lo))))
    return rows


def verdicts(kind, S, noise, factor, rng, claimed):
    """Supported rates of the current rule (lo > null and hi >= c) on the BCa interval and of
    lo >= 0.9c on the t interval, for a truth of factor·c (null 0 for differences, 1 for ratios)."""
    truth = factor * claimed
    if kind == "difference":
        b = rng.normal(0.90, noise, (REPS, S))
        m = rng.normal(0.90 + truth, noise, (REPS, S))
        stat, null, t_lo = diff_stat, 0.0, project(difference_ci, b, m)[0]
    else:
        b = rng.normal(1000, 1000 * noise, (REPS, S))
        m = rng.normal(1000 / truth, 1000 / truth * noise, (REPS, S))
        stat, null, t_lo = ratio_stat, 1.0, project(ratio_ci, b, m)[0]
    bca = np.array([_scipy_interval((b[r], m[r]), stat, 0.95, N_RESAMPLES, 0, "BCa") for r in range(REPS)])
    current = (bca[:, 0] > null) & (bca[:, 1] >= claimed)
    return current.mean(), (t_lo >= 0.9 * claimed).mean(), (t_lo > null).mean()


def main():
    rng = np.random.default_rng(2025)
    t0 = time.time()
    rows = []
    for S in (3, 5):
        rows += run("difference", S, 0.005, rng)
        rows += run("ratio", S, 0.10, rng)
    keys = list(rows[0])
    print(f"{REPS} replicates per row, nominal 95%, bootstrap n_resamples={N_RESAMPLES}\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    print("\nSupported rate: current rule on BCa (lo > null and hi >= c) | lo >= 0.9c on the t interval | lo > null")
    print("(difference: claim c = +0.01 accuracy, seed sd 0.005; ratio: claim c = 1.5x steps, CV 10%)\n")
    print("| kind | S | truth | current rule, BCa | lo >= 0.9c, t | lo > null, t (direction only) |")
    print("|---|---|---|---|---|---|")
    for kind, noise, claimed in (("difference", 0.005, 0.01), ("ratio", 0.10, 1.5)):
        for S in (3, 5):
            for factor in (0.9, 1.0, 1.1):
                cur, new, direction = verdicts(kind, S, noise, factor, rng, claimed)
                print(f"| {kind} | {S} | {factor:g}c | {cur:.3f} | {new:.3f} | {direction:.3f} |")
    print(f"\nruntime {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
